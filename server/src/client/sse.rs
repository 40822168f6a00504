//! A small parser for `text/event-stream` (enough for pgfleet's streams:
//! `id`, `event`, `data`, comments).

/// One server-sent event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SseMessage {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

/// Feeds bytes in, gets whole events out.
#[derive(Default)]
pub struct SseParser {
    buffer: String,
    current: SseMessage,
    has_data: bool,
}

impl SseParser {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseMessage> {
        self.buffer.push_str(&String::from_utf8_lossy(chunk));
        let mut out = Vec::new();
        while let Some(pos) = self.buffer.find('\n') {
            let line: String = self.buffer.drain(..=pos).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if self.has_data {
                    let mut done = std::mem::take(&mut self.current);
                    if done.event.is_empty() {
                        done.event = "message".into();
                    }
                    out.push(done);
                }
                self.current = SseMessage::default();
                self.has_data = false;
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) =
                line.split_once(':').map(|(f, v)| (f, v.strip_prefix(' ').unwrap_or(v))).unwrap_or((line, ""));
            match field {
                "id" => self.current.id = Some(value.to_string()),
                "event" => self.current.event = value.to_string(),
                "data" => {
                    if self.has_data {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                    self.has_data = true;
                }
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_split_across_chunks() {
        let mut p = SseParser::default();
        assert!(p.push(b": keep-alive\n\nid: 3\nevent: pha").is_empty());
        let got = p.push(b"se\ndata: {\"a\":1}\ndata: x\n\n");
        assert_eq!(got, vec![SseMessage { id: Some("3".into()), event: "phase".into(), data: "{\"a\":1}\nx".into() }]);
    }
}
