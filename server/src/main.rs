//! The `pgfleet` command: `pgfleet serve` runs the console and control
//! plane; the other commands talk to a running pgfleet over its API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use app::roles::{NewRole, RoleAccess};
use clap::{Parser, Subcommand};
use pgfleet::cli::{self, WaitOutcome};
use pgfleet::client::Client;
use pgfleet::config::{Backend, Config};

#[derive(Parser)]
#[command(name = "pgfleet", version, about = "PostgreSQL databases, followers and forks for a team")]
struct Cli {
    /// Where pgfleet keeps its metadata and databases.
    #[arg(long, global = true, env = "PGFLEET_HOME", default_value = ".pgfleet")]
    home: PathBuf,
    /// The metadata store (serve, user): a SQLite file (default
    /// HOME/pgfleet.sqlite3) or postgres://… shared by several servers.
    #[arg(long, global = true, env = "PGFLEET_STORE")]
    store: Option<String>,
    /// The pgfleet to talk to (client commands).
    #[arg(long, global = true, env = "PGFLEET_URL", default_value = "http://127.0.0.1:3000")]
    url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the console and the control plane.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "PGFLEET_LISTEN", default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// The built console; defaults to this checkout's target/site.
        #[arg(long, env = "PGFLEET_SITE_ROOT")]
        site_root: Option<PathBuf>,
        /// PostgreSQL's bin directory (default: the newest under /usr/lib/postgresql).
        #[arg(long, env = "PGFLEET_PG_BIN")]
        pg_bin: Option<PathBuf>,
        /// The OS user PostgreSQL runs as when pgfleet runs as root.
        #[arg(long, env = "PGFLEET_PG_USER")]
        pg_user: Option<String>,
        /// The ports databases are given, FIRST-LAST (local backend).
        #[arg(long, env = "PGFLEET_PG_PORTS", default_value = "15432-16431")]
        pg_ports: String,
        /// PostgreSQL's listen_addresses for every database.
        #[arg(long, env = "PGFLEET_PG_LISTEN", default_value = "127.0.0.1")]
        pg_listen: String,
        /// The host name put in connection URLs.
        #[arg(long, env = "PGFLEET_PUBLIC_HOST", default_value = "127.0.0.1")]
        public_host: String,
        /// Who may put /embed widgets in an iframe: a CSP frame-ancestors
        /// list, e.g. "https://status.example.com 'self'".
        #[arg(long, env = "PGFLEET_EMBED_ANCESTORS", default_value = "*")]
        embed_ancestors: String,
        /// Reverse proxies (addresses or networks, comma-separated) whose
        /// X-Forwarded-For names the client, e.g. "127.0.0.1, 10.0.0.0/8".
        #[arg(long, env = "PGFLEET_TRUSTED_PROXIES", default_value = "")]
        trusted_proxies: String,
        /// Where pgBackRest keeps backups and archived WAL: a folder, or
        /// s3://bucket/path?endpoint=host[:port][&region=R][&verify_tls=false]
        /// (keys in PGFLEET_S3_KEY / PGFLEET_S3_KEY_SECRET). Default <home>/backups/repo.
        #[arg(long, env = "PGFLEET_BACKUP_REPO")]
        backup_repo: Option<String>,
        /// How often each primary gets a full backup, e.g. 24h (default), 6h, 30m.
        #[arg(long, env = "PGFLEET_BACKUP_EVERY", default_value = "24h")]
        backup_every: String,
        #[command(flatten)]
        kubernetes: Box<KubernetesArgs>,
    },
    /// Create a database, a follower (--follow) or a fork (--fork).
    Create {
        name: Option<String>,
        #[arg(long)]
        plan: Option<String>,
        #[arg(long, conflicts_with = "fork")]
        follow: Option<String>,
        #[arg(long)]
        fork: Option<String>,
        /// With --fork: as it was at this moment (UTC), e.g. '2026-12-01 10:00Z'.
        #[arg(long, requires = "fork", conflicts_with_all = ["by", "at_lsn"])]
        at: Option<String>,
        /// With --fork: as it was this long ago, e.g. '2 hours'.
        #[arg(long, requires = "fork", conflicts_with = "at_lsn")]
        by: Option<String>,
        /// With --fork: as it was at this WAL position, e.g. 0/3000060.
        #[arg(long, requires = "fork")]
        at_lsn: Option<String>,
        /// With --fork of a database with masking rules: without them, and
        /// why (admins; members ask with a fork request).
        #[arg(long, requires = "fork", value_name = "REASON")]
        unmasked: Option<String>,
        /// Wait until it is available.
        #[arg(long)]
        wait: bool,
    },
    /// List a database's backups.
    Backups {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Take a full backup of a database now and follow it.
    #[command(name = "backups:capture")]
    BackupsCapture { name: String },
    /// A database's client sessions (`heroku pg:ps`).
    Ps {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a session's query, or with --force end the session (`heroku pg:kill`).
    Kill {
        name: String,
        pid: i64,
        #[arg(long)]
        force: bool,
    },
    /// Sessions waiting on another's lock, and who holds it (`heroku pg:locks`).
    Locks {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// The statements that cost the most time (`heroku pg:outliers`).
    Outliers {
        name: String,
        /// total_time (default), mean_time or calls.
        #[arg(long, value_parser = ["total_time", "mean_time", "calls"], default_value = "total_time")]
        order: String,
        #[arg(long, default_value_t = 10)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Health checks, each green, yellow or red with what to do (`heroku pg:diagnose`).
    Diagnose {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// The largest tables and indexes, unused and duplicate indexes, dead rows.
    Sizes {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// What differs in a database's schema against another's (by default
    /// the one it was forked from): tables, columns, indexes, constraints,
    /// views, functions, triggers, sequences, extensions, enum types.
    Diff {
        name: String,
        other: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A database's masking rules, the columns they leave uncovered and
    /// suggestions; --set FILE saves new rules (JSON: {"rules": [...]},
    /// `-` for stdin), --preview shows masked sample rows.
    Masking {
        name: String,
        #[arg(long, value_name = "FILE")]
        set: Option<String>,
        #[arg(long, conflicts_with = "set")]
        preview: bool,
        #[arg(long)]
        json: bool,
    },
    /// List databases.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show everything about a database.
    Info {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Wait until databases (default: all) are available, live.
    Wait {
        names: Vec<String>,
        /// Give up after this many seconds (exit 2).
        #[arg(long)]
        timeout: Option<u64>,
        /// One JSON event per line.
        #[arg(long)]
        json: bool,
    },
    /// Make a follower a standalone, writable database.
    Promote { name: String },
    /// Try a failed database again.
    Retry { name: String },
    /// Make a fork again from its source, now or as of a moment (its data
    /// is replaced; its URL keeps working).
    Reset {
        name: String,
        /// The fork's name again, to confirm.
        #[arg(long)]
        confirm: String,
        /// As of this moment in the source's restore window (RFC 3339, or
        /// `YYYY-MM-DD HH:MM[:SS]` UTC).
        #[arg(long, conflicts_with = "at_lsn")]
        at: Option<String>,
        /// As of this WAL position (`0/3000060`).
        #[arg(long)]
        at_lsn: Option<String>,
        /// Follow it until it is available, with progress.
        #[arg(long)]
        wait: bool,
    },
    /// Destroy a database.
    Destroy {
        name: String,
        /// The name again, to confirm.
        #[arg(long)]
        confirm: String,
        /// Destroy its followers too.
        #[arg(long)]
        take_followers: bool,
    },
    /// Print a database's connection URL (its owner's, or an additional
    /// role's).
    Credentials {
        name: String,
        #[arg(long)]
        role: Option<String>,
    },
    /// List a database's additional roles (`heroku pg:credentials`).
    #[command(name = "credentials:list")]
    CredentialsList {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Add a login role with a password of its own and print its URL
    /// (`heroku pg:credentials:create`); read-only unless --read-write.
    #[command(name = "credentials:create")]
    CredentialsCreate {
        name: String,
        #[arg(long)]
        role: String,
        /// Let it write rows too (never schema changes).
        #[arg(long)]
        read_write: bool,
    },
    /// Give a database's owner (or --role) a new password and print the
    /// new URL (`heroku pg:credentials:rotate`); its open sessions end.
    #[command(name = "credentials:rotate")]
    CredentialsRotate {
        name: String,
        #[arg(long)]
        role: Option<String>,
        /// Leave the role's open sessions running.
        #[arg(long)]
        keep_sessions: bool,
    },
    /// Drop an additional role; its sessions end
    /// (`heroku pg:credentials:destroy`).
    #[command(name = "credentials:destroy")]
    CredentialsDestroy {
        name: String,
        #[arg(long)]
        role: String,
        /// The role's name again, to confirm.
        #[arg(long)]
        confirm: String,
    },
    /// Manage team accounts on this host (works on the store directly).
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
}

/// Where databases run, and the Kubernetes backend's settings.
#[derive(clap::Args)]
struct KubernetesArgs {
    /// local: PostgreSQL servers on this machine; kubernetes: CloudNativePG
    /// clusters, through the pod's service account or KUBECONFIG.
    #[arg(long, env = "PGFLEET_BACKEND", default_value = "local", value_parser = ["local", "kubernetes"])]
    backend: String,
    /// kubernetes: this kubeconfig instead of the pod's service account or KUBECONFIG.
    #[arg(long, env = "PGFLEET_KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
    /// kubernetes: how pgfleet reaches the clusters' PostgreSQL: services (their
    /// NAME-rw services; pgfleet runs in the cluster) or port-forward (through
    /// the API server, from outside). Default: services in a pod, else port-forward.
    #[arg(long, env = "PGFLEET_KUBE_REACH", value_parser = ["services", "port-forward"])]
    kube_reach: Option<String>,
    /// kubernetes: the clusters' namespace (default: pgfleet's own pod's, else "default").
    #[arg(long, env = "PGFLEET_NAMESPACE")]
    namespace: Option<String>,
    /// kubernetes: the PostgreSQL image (default: the operator's).
    #[arg(long, env = "PGFLEET_PG_IMAGE")]
    pg_image: Option<String>,
    /// kubernetes: the storage class of the clusters' volumes.
    #[arg(long, env = "PGFLEET_STORAGE_CLASS")]
    storage_class: Option<String>,
    /// kubernetes: base backups and WAL go to this object store, e.g.
    /// s3://bucket/path; without it no fork of a past moment is possible.
    #[arg(long, env = "PGFLEET_BACKUP_DESTINATION")]
    backup_destination: Option<String>,
    /// kubernetes: the object store's endpoint, e.g. https://minio.fleet.svc:9000.
    #[arg(long, env = "PGFLEET_BACKUP_ENDPOINT")]
    backup_endpoint: Option<String>,
    /// kubernetes: the Secret holding ACCESS_KEY_ID and ACCESS_SECRET_KEY.
    #[arg(long, env = "PGFLEET_BACKUP_CREDENTIALS", default_value = "pgfleet-backups")]
    backup_credentials: String,
    /// kubernetes: also take base backups as volume snapshots of this class.
    #[arg(long, env = "PGFLEET_SNAPSHOT_CLASS")]
    snapshot_class: Option<String>,
}

impl KubernetesArgs {
    /// The backend these settings ask for, or why they do not fit.
    fn backend(self) -> anyhow::Result<Backend> {
        use pgfleet::provisioner::kubernetes::manifests::{BackupStore, Install, ObjectStore};
        if self.backend == "local" {
            let given =
                [&self.namespace, &self.pg_image, &self.storage_class, &self.backup_destination, &self.snapshot_class];
            if given.iter().any(|v| v.is_some())
                || self.backup_endpoint.is_some()
                || self.kubeconfig.is_some()
                || self.kube_reach.is_some()
            {
                bail!(
                    "--kubeconfig, --kube-reach, --namespace, --pg-image, --storage-class, --backup-* and \
                     --snapshot-class are for --backend kubernetes"
                );
            }
            return Ok(Backend::Local);
        }
        let object_store = match self.backup_destination {
            Some(destination) => {
                if !["s3://", "gs://", "https://"].iter().any(|p| destination.starts_with(p)) {
                    bail!("--backup-destination {destination:?}: give s3://bucket/path (or gs://…, or an Azure https://… URL)");
                }
                Some(ObjectStore { destination, endpoint: self.backup_endpoint, credentials: self.backup_credentials })
            }
            None if self.backup_endpoint.is_some() => bail!("--backup-endpoint needs --backup-destination"),
            None => None,
        };
        let pods_namespace = std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
            .map(|n| n.trim().to_string())
            .ok();
        let in_a_pod = pods_namespace.is_some();
        let namespace = self.namespace.or(pods_namespace).unwrap_or_else(|| "default".into());
        let install = Install {
            namespace,
            image: self.pg_image,
            storage_class: self.storage_class,
            backups: BackupStore { object_store, snapshot_class: self.snapshot_class },
        };
        let mut config = pgfleet::provisioner::kubernetes::KubernetesConfig::new(install);
        config.kubeconfig = self.kubeconfig;
        let port_forward = match self.kube_reach.as_deref() {
            Some(reach) => reach == "port-forward",
            None => !in_a_pod,
        };
        if port_forward {
            config.reach = pgfleet::provisioner::kubernetes::connect::Reach::port_forward();
        }
        Ok(Backend::Kubernetes(Box::new(config)))
    }
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user and print a one-time password for them.
    Add {
        name: String,
        /// admin, member or viewer.
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// Give a user a new one-time password (they choose their own at sign-in).
    ResetPassword { name: String },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let code = match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", said_once(&e));
            1
        }
    };
    std::process::exit(code);
}

/// An error and its causes, each said once: a message that already holds
/// its cause's words (`"query failed: {0}"` over that cause) does not
/// repeat them.
fn said_once(e: &anyhow::Error) -> String {
    let mut said = String::new();
    for cause in e.chain() {
        let words = cause.to_string();
        if said.contains(&words) {
            continue;
        }
        if !said.is_empty() {
            said.push_str(": ");
        }
        said.push_str(&words);
    }
    said
}

async fn run(cli: Cli) -> anyhow::Result<i32> {
    if let Command::Serve {
        listen,
        site_root,
        pg_bin,
        pg_user,
        pg_ports,
        pg_listen,
        public_host,
        embed_ancestors,
        trusted_proxies,
        backup_repo,
        backup_every,
        kubernetes,
    } = cli.command
    {
        pgfleet::telemetry::init();
        let mut config = config_for(&cli.home, cli.store.as_deref());
        config.listen = listen;
        if let Some(dir) = site_root {
            config.site_root = dir;
        }
        config.local.pg_bin = pg_bin;
        config.local.pg_user = pg_user;
        config.local.listen_addresses = pg_listen;
        config.engine.ports = pgfleet::config::parse_ports(&pg_ports).map_err(|e| anyhow::anyhow!("--pg-ports {e}"))?;
        config.local.public_host = public_host;
        config.embed_ancestors = embed_ancestors;
        config.backend = kubernetes.backend()?;
        if let Some(repo) = backup_repo {
            config.local.backup_repo =
                Some(pgfleet::provisioner::local::backrest::Repo::parse(&repo).map_err(anyhow::Error::msg)?);
        }
        let every = cli::parse_by(&backup_every).map_err(|e| anyhow::anyhow!("--backup-every {e}"))?;
        config.engine.backups.full_every = every.to_std().context("--backup-every")?;
        config.trusted_proxies = pgfleet::web::client::TrustedProxies::parse(&trusted_proxies)
            .map_err(|e| anyhow::anyhow!("--trusted-proxies: {e}"))?;
        let running = pgfleet::serve::start(config).await.context("pgfleet could not start")?;
        running.stop_on(pgfleet::serve::termination_signal());
        running.wait().await.context("pgfleet stopped with an error")?;
        return Ok(0);
    }
    if let Command::User { action } = cli.command {
        return user_command(&cli.home, cli.store.as_deref(), action).await;
    }
    let client = Client::new(&cli.url, token(&cli.home));
    match cli.command {
        Command::Serve { .. } | Command::User { .. } => unreachable!("handled above"),
        Command::Create { name, plan, follow, fork, at, by, at_lsn, unmasked, wait } => {
            let at = match (at, by) {
                (Some(at), _) => Some(cli::parse_at(&at).map_err(anyhow::Error::msg)?),
                (None, Some(by)) => {
                    Some(chrono::Utc::now() - cli::parse_by(&by).map_err(|e| anyhow::anyhow!("--by {e}"))?)
                }
                (None, None) => None,
            };
            let db = client
                .create(&app::model::NewDatabase { name, plan, follow, fork, at, at_lsn, unmasked_reason: unmasked })
                .await?;
            println!("Creating {}…", db.name);
            if wait {
                return finish_wait(cli::wait(&client, &[db.name], None, false).await?);
            }
            println!("Run `pgfleet wait {}` to follow it.", db.name);
        }
        Command::List { json } => {
            let list = client.list().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("No databases yet. Create one with `pgfleet create`.");
            } else {
                for db in list {
                    println!("{}", cli::describe(&db));
                }
            }
        }
        Command::Info { name, json } => {
            let db = client.get(&name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&db)?);
            } else {
                print!("{}", cli::info_text(&db));
            }
        }
        Command::Wait { names, timeout, json } => {
            let outcome = cli::wait(&client, &names, timeout.map(Duration::from_secs), json).await?;
            return finish_wait(outcome);
        }
        Command::Promote { name } => {
            client.promote(&name).await?;
            println!("Promoting {name}; `pgfleet wait {name}` follows it.");
        }
        Command::Retry { name } => {
            client.retry(&name).await?;
            println!("Trying {name} again; `pgfleet wait {name}` follows it.");
        }
        Command::Reset { name, confirm, at, at_lsn, wait } => {
            if confirm != name {
                bail!("--confirm {confirm} does not match {name}; nothing was reset");
            }
            let at = at.map(|at| cli::parse_at(&at)).transpose().map_err(anyhow::Error::msg)?;
            client.reset(&name, &app::model::ResetRequest { at, at_lsn }).await?;
            println!("Resetting {name} from its source…");
            if wait {
                return finish_wait(cli::wait(&client, &[name], None, false).await?);
            }
            println!("Run `pgfleet wait {name}` to follow it.");
        }
        Command::Destroy { name, confirm, take_followers } => {
            if confirm != name {
                bail!("--confirm {confirm} does not match {name}; nothing was destroyed");
            }
            client.destroy(&name, take_followers).await?;
            println!("Destroying {name}.");
        }
        Command::Credentials { name, role: None } => println!("{}", client.credentials(&name).await?),
        Command::Credentials { name, role: Some(role) } => println!("{}", client.role_url(&name, &role).await?.url),
        Command::CredentialsList { name, json } => {
            let list = client.roles(&name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print!("{}", cli::roles_text(&list));
            }
        }
        Command::CredentialsCreate { name, role, read_write } => {
            let access = if read_write { RoleAccess::ReadWrite } else { RoleAccess::ReadOnly };
            let made = client.create_role(&name, &NewRole { name: role, access }).await?;
            eprintln!("Added {} ({}) to {name}.", made.name, made.access.describe());
            println!("{}", made.url);
        }
        Command::CredentialsRotate { name, role: Some(role), keep_sessions } => {
            let rotated = client.rotate_role(&name, &role, keep_sessions).await?;
            eprintln!("Rotated {role}'s password on {name}: the old one no longer opens sessions.");
            println!("{}", rotated.url);
        }
        Command::CredentialsDestroy { name, role, confirm } => {
            if confirm != role {
                bail!("--confirm {confirm} does not match {role}; nothing was dropped");
            }
            client.drop_role(&name, &role).await?;
            eprintln!("Dropped {role} from {name}; its sessions were ended.");
        }
        Command::Backups { name, json } => {
            let list = client.backups(&name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print!("{}", cli::backups_text(&list));
            }
        }
        Command::Ps { name, json } => {
            let list = client.sessions(&name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print!("{}", cli::insights::sessions_text(&list));
            }
        }
        Command::Kill { name, pid, force } => {
            let ended = client.end_session(&name, pid, force).await?;
            match (ended.signalled, force) {
                (true, true) => println!("Terminated session {pid} on {name}."),
                (true, false) => println!("Cancelled session {pid}'s query on {name}."),
                (false, _) => println!("Session {pid} on {name} had already ended."),
            }
        }
        Command::Locks { name, json } => {
            let list = client.locks(&name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print!("{}", cli::insights::blocking_text(&list));
            }
        }
        Command::CredentialsRotate { name, role: None, keep_sessions } => {
            let rotated = client.rotate_credentials(&name, keep_sessions).await?;
            eprintln!(
                "Rotated {name}'s credentials: the old password no longer opens sessions; {} session(s) ended{}.",
                rotated.ended_sessions,
                match rotated.followers.as_slice() {
                    [] => String::new(),
                    list => format!("; the URL of {} changed too", list.join(", ")),
                }
            );
            println!("{}", rotated.url);
        }
        Command::Diagnose { name, json } => {
            let diagnosis = client.diagnose(&name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&diagnosis)?);
            } else {
                print!("{}", cli::diagnose::diagnosis_text(&name, &diagnosis));
            }
        }
        Command::Masking { name, set, preview, json } => {
            if preview {
                let preview = client.masking_preview(&name).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&preview)?);
                } else {
                    print!("{}", cli::masking::preview_text(&preview));
                }
                return Ok(0);
            }
            let view = match set {
                Some(file) => {
                    let text = if file == "-" {
                        std::io::read_to_string(std::io::stdin())?
                    } else {
                        std::fs::read_to_string(&file).with_context(|| format!("cannot read {file}"))?
                    };
                    let rules: app::masking::MaskRules =
                        serde_json::from_str(&text).with_context(|| format!("{file} is not {{\"rules\": [...]}}"))?;
                    client.set_masking(&name, &rules).await?
                }
                None => client.masking(&name).await?,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print!("{}", cli::masking::masking_text(&view));
            }
        }
        Command::Diff { name, other, json } => {
            let diff = client.schema_diff(&name, other.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&diff)?);
            } else {
                print!("{}", cli::diff_text(&diff));
            }
        }
        Command::Sizes { name, json } => {
            let sizes = client.sizes(&name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&sizes)?);
            } else {
                print!("{}", cli::diagnose::sizes_text(&sizes));
            }
        }
        Command::Outliers { name, order, limit, json } => {
            let order = match order.as_str() {
                "mean_time" => app::insights::StatementOrder::MeanTime,
                "calls" => app::insights::StatementOrder::Calls,
                _ => app::insights::StatementOrder::TotalTime,
            };
            let statements = client.statements(&name, order, limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&statements)?);
            } else {
                print!("{}", cli::insights::statements_text(&statements));
            }
        }
        Command::BackupsCapture { name } => {
            let before = client.backups(&name).await?.iter().map(|b| b.started_at).max();
            client.capture_backup(&name).await?;
            println!("Backing up {name}…");
            return Ok(cli::follow_backup(&client, &name, before).await?);
        }
    }
    Ok(0)
}

/// The defaults for `home`, with `--store` when given.
fn config_for(home: &Path, store: Option<&str>) -> Config {
    let mut config = Config::new(home);
    if let Some(store) = store {
        config.store = pgfleet::store::StoreLocation::parse(store);
    }
    config
}

async fn user_command(home: &Path, store: Option<&str>, action: UserCommand) -> anyhow::Result<i32> {
    let config = config_for(home, store);
    if let pgfleet::store::StoreLocation::Sqlite(path) = &config.store {
        if !path.exists() {
            bail!(
                "there is no pgfleet store under {}; run `pgfleet serve` there first (or pass --home or --store)",
                home.display()
            );
        }
    }
    let store = pgfleet::store::Store::open(&config.store).await?;
    match action {
        UserCommand::Add { name, role } => {
            let Some(role) = app::accounts::UserRole::parse(&role) else {
                bail!("unknown role {role}; the roles are admin, member and viewer");
            };
            let invitation = pgfleet::access::accounts::add_user(&store, &name, role).await?;
            println!("Added {} as {}.", invitation.user.name, role.as_str());
            println!("One-time password: {}", invitation.one_time_password);
            println!("They choose their own password when they first sign in.");
        }
        UserCommand::ResetPassword { name } => {
            let password = pgfleet::access::accounts::reset_password(&store, &name).await?;
            println!("One-time password for {name}: {password}");
        }
    }
    Ok(0)
}

fn finish_wait(outcome: WaitOutcome) -> anyhow::Result<i32> {
    match &outcome {
        WaitOutcome::Ready => println!("ready"),
        WaitOutcome::Failed(reason) | WaitOutcome::TimedOut(reason) => eprintln!("error: {reason}"),
    }
    Ok(outcome.exit_code())
}

/// `PGFLEET_TOKEN`, else the admin token pgfleet wrote on this host.
fn token(home: &Path) -> Option<String> {
    std::env::var("PGFLEET_TOKEN").ok().filter(|t| !t.is_empty()).or_else(|| {
        std::fs::read_to_string(home.join(pgfleet::access::accounts::ADMIN_TOKEN_FILE))
            .ok()
            .map(|t| t.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::said_once;

    #[derive(Debug, thiserror::Error)]
    #[error("query failed: {0}")]
    struct Wrapping(#[from] std::io::Error);

    #[test]
    fn an_error_says_each_cause_once() {
        let inner = std::io::Error::other("duplicate key");
        let e = anyhow::Error::from(Wrapping(inner)).context("pgfleet could not start");
        assert_eq!(said_once(&e), "pgfleet could not start: query failed: duplicate key");
        let plain = anyhow::anyhow!("no such file").context("reading the kubeconfig");
        assert_eq!(said_once(&plain), "reading the kubeconfig: no such file");
    }
}
