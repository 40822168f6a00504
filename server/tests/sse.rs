//! Server-sent events: snapshot first, then changes in order; a reconnect
//! with Last-Event-ID misses nothing.

mod common;

use std::time::{Duration, Instant};

use app::model::NewDatabase as CreateBody;
use app::model::{Event, EventKind, Phase};
use pgfleet::client::{SseMessage, SseParser};
use tokio::sync::mpsc;

/// Streams `/api/v1/events` into a channel.
fn subscribe(app: &common::TestApp, last_event_id: Option<&str>) -> mpsc::UnboundedReceiver<SseMessage> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut req = app.client.get(app.url("/api/v1/events")).bearer_auth(app.token());
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    tokio::spawn(async move {
        use futures::StreamExt;
        let response = req.send().await.expect("stream opens");
        assert_eq!(response.status(), 200);
        let mut body = response.bytes_stream();
        let mut parser = SseParser::default();
        while let Some(Ok(chunk)) = body.next().await {
            for message in parser.push(&chunk) {
                if tx.send(message).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

async fn next(rx: &mut mpsc::UnboundedReceiver<SseMessage>) -> SseMessage {
    tokio::time::timeout(Duration::from_secs(120), rx.recv()).await.expect("an event in time").expect("stream open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_streams_snapshot_progress_available_and_reconnects_miss_nothing() {
    let app = common::spawn_app().await;
    let api = app.api();
    api.create(&CreateBody { name: Some("prod".into()), ..Default::default() }).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while api.get("prod").await.unwrap().phase != Phase::Available {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut stream = subscribe(&app, None);
    let first = next(&mut stream).await;
    assert_eq!(first.event, "snapshot");
    assert!(first.data.contains("\"prod\""), "{}", first.data);

    api.create(&CreateBody { name: Some("trial".into()), fork: Some("prod".into()), ..Default::default() })
        .await
        .unwrap();
    let mut seen: Vec<Event> = Vec::new();
    loop {
        let message = next(&mut stream).await;
        let event: Event = serde_json::from_str(&message.data).expect("events are Event JSON");
        assert_eq!(message.id.as_deref(), Some(event.id.to_string().as_str()));
        let done = event.database == "trial"
            && event.kind == EventKind::Phase
            && event.view.as_ref().is_some_and(|v| v.phase == Phase::Available);
        seen.push(event);
        if done {
            break;
        }
    }
    let ids: Vec<i64> = seen.iter().map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids are monotonic: {ids:?}");
    let trial: Vec<&Event> = seen.iter().filter(|e| e.database == "trial").collect();
    let kinds: Vec<EventKind> = trial.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.first(), Some(&EventKind::Created), "{kinds:?}");
    let first_progress = kinds.iter().position(|k| *k == EventKind::Progress).expect("progress was streamed");
    assert!(first_progress < kinds.len() - 1, "progress comes before available: {kinds:?}");
    assert!(trial.iter().any(|e| e
        .view
        .as_ref()
        .and_then(|v| v.progress.as_ref())
        .is_some_and(|p| p.bytes_total.is_some())));

    // Reconnect from the fork's first event: the same events follow.
    let from = trial[0].id;
    let expected: Vec<i64> = ids.iter().copied().filter(|id| *id > from).collect();
    let mut again = subscribe(&app, Some(&from.to_string()));
    let mut replayed = Vec::new();
    while replayed.len() < expected.len() {
        let message = next(&mut again).await;
        assert_ne!(message.event, "snapshot", "the missed events are still known");
        replayed.push(message.id.unwrap().parse::<i64>().unwrap());
    }
    assert_eq!(replayed, expected);

    // An id older than anything kept gets a fresh snapshot.
    let mut stale = subscribe(&app, Some("-5"));
    assert_eq!(next(&mut stale).await.event, "snapshot");
}

#[tokio::test]
async fn streams_end_when_the_server_shuts_down() {
    let app = common::spawn_app().await;
    let mut stream = subscribe(&app, None);
    assert_eq!(next(&mut stream).await.event, "snapshot");
    tokio::time::timeout(Duration::from_secs(30), app.shutdown())
        .await
        .expect("shutdown does not hang on open streams");
    assert!(tokio::time::timeout(Duration::from_secs(10), stream.recv()).await.expect("stream closes").is_none());
}

/// Eight followers' lag, probed every second for an hour, used to push
/// every phase change out of a 10,000-event log in about 20 minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_from_before_an_hour_of_lag_probes_gets_every_phase_change() {
    let app = common::spawn_app().await;
    let api = app.api();
    api.create(&CreateBody { name: Some("base".into()), ..Default::default() }).await.unwrap();
    app.wait_phase("base", Phase::Available).await;
    let before = app.store().last_event_id().await.unwrap();

    // What the client misses: a database made, and its phases.
    api.create(&CreateBody { name: Some("missed".into()), ..Default::default() }).await.unwrap();
    app.wait_phase("missed", Phase::Available).await;
    // An hour of eight followers' probes every second, driven quickly:
    // steady lag under a kilobyte, as a healthy follower has...
    let recorder = app.engine().recorder();
    let lag = |bytes| Some(app::model::Lag { bytes, seconds: 0.0 });
    for probe in 0..8 * 3600u64 {
        recorder.lag("base", lag(1 + probe % 900)).await.unwrap();
    }
    // ...then, worse than any real fleet, more probes than the old log held,
    // every one of them moved enough to be recorded.
    for probe in 0..10_500u64 {
        recorder.lag("base", lag(if probe % 2 == 0 { 0 } else { 5_000_000 })).await.unwrap();
    }
    app.store().prune_events().await.unwrap();

    let mut stream = subscribe(&app, Some(&before.to_string()));
    let mut kinds = Vec::new();
    loop {
        let message = next(&mut stream).await;
        assert_ne!(message.event, "snapshot", "the missed events are replayed, not replaced by a snapshot");
        let event: Event = serde_json::from_str(&message.data).unwrap();
        if event.database == "missed" {
            kinds.push(event.kind);
            if event.kind == EventKind::Phase && event.view.as_ref().unwrap().phase == Phase::Available {
                break;
            }
        }
    }
    assert_eq!(kinds.first(), Some(&EventKind::Created), "{kinds:?}");
    // Measurements are kept briefly: far fewer than were made.
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = 'lag'")
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    assert!(kept <= pgfleet::store::events::MAX_MEASUREMENTS, "{kept} lag events kept");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_that_does_not_change_is_not_published() {
    let app = common::spawn_app().await;
    app.api().create(&CreateBody { name: Some("still".into()), ..Default::default() }).await.unwrap();
    app.wait_phase("still", Phase::Available).await;
    let recorder = app.engine().recorder();
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events WHERE kind = 'lag'")
            .fetch_one(app.store().pool())
            .await
            .unwrap()
    };
    let start = count().await;
    for bytes in [0, 0, 0, 300, 600, 900, 0, 0] {
        recorder.lag("still", Some(app::model::Lag { bytes, seconds: 0.0 })).await.unwrap();
    }
    // 0 (new), then under 1 KB, then 0 again: three changes a person reads.
    assert_eq!(count().await - start, 3);
    app.shutdown().await;
}
