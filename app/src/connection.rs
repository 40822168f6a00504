//! A connection URL taken apart for people: the host, port, database, user
//! and password a GUI client asks for, a `psql` command and the
//! `DATABASE_URL` line an app's environment takes. Only ever built from a
//! URL the server revealed (an audited reveal), in the browser.

/// The parts of a `postgres://user:password@host:port/database?query` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub url: String,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: String,
}

impl Connection {
    /// `None` for anything that is not a full PostgreSQL URL.
    pub fn parse(url: &str) -> Option<Connection> {
        let rest = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://"))?;
        let (userinfo, address) = rest.rsplit_once('@')?;
        let (user, password) = userinfo.split_once(':')?;
        let (host_port, path) = address.split_once('/')?;
        let database = path.split(['?', '#']).next().unwrap_or(path);
        let (host, port) = host_port.rsplit_once(':')?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || database.is_empty() || user.is_empty() {
            return None;
        }
        Some(Connection {
            url: url.to_string(),
            host: host.to_string(),
            port: port.parse().ok()?,
            database: decode(database)?,
            user: decode(user)?,
            password: decode(password)?,
        })
    }

    /// `psql "…"`: the URL quoted, so a shell passes it whole.
    pub fn psql(&self) -> String {
        format!("psql \"{}\"", self.url)
    }

    /// The line for an app's environment (`.env`, Heroku-style config).
    pub fn env_line(&self) -> String {
        format!("DATABASE_URL={}", self.url)
    }
}

/// Undoes a URL's `%XX` escapes; `None` if one is broken or the result is
/// not UTF-8.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_comes_apart_into_what_clients_ask_for() {
        let c = Connection::parse("postgres://u_amber:s3cr%40t@db.example.com:15432/amber?sslmode=require").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.database.as_str(), c.user.as_str(), c.password.as_str()),
            ("db.example.com", 15432, "amber", "u_amber", "s3cr@t")
        );
        assert_eq!(c.psql(), "psql \"postgres://u_amber:s3cr%40t@db.example.com:15432/amber?sslmode=require\"");
        assert_eq!(c.env_line(), "DATABASE_URL=postgres://u_amber:s3cr%40t@db.example.com:15432/amber?sslmode=require");
        let v6 = Connection::parse("postgresql://a:b@[::1]:5432/d").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 5432));
        for bad in [
            "mysql://a:b@h:1/d",
            "postgres://a@h:1/d",
            "postgres://a:b@h/d",
            "postgres://a:b@h:x/d",
            "postgres://a:b@h:1/",
            "postgres://a:%zz@h:1/d",
        ] {
            assert_eq!(Connection::parse(bad), None, "{bad}");
        }
    }
}
