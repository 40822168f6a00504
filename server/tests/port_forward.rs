//! The Kubernetes backend from outside the cluster: connections to a
//! database go through a local listener and the API server's port-forward
//! to the pod the operator labels primary, looked up per connection. Run
//! with kube's own port-forward client against `common::pod_api` and a
//! real PostgreSQL server standing for the pod.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use app::model::Phase;
use common::pg::{scalar, TestEngine};
use common::pod_api::PodApi;
use pgfleet::provisioner::kubernetes::connect::{self, Login, Reach};

fn primary(cluster: &str) -> [(&str, &str); 2] {
    [("cnpg.io/cluster", cluster), ("cnpg.io/instanceRole", "primary")]
}

fn replica(cluster: &str) -> [(&str, &str); 2] {
    [("cnpg.io/cluster", cluster), ("cnpg.io/instanceRole", "replica")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_reach_the_primary_pod_through_the_api_servers_port_forward() {
    common::init_logs();
    let t = TestEngine::start().await;
    t.create_named("prod").await;
    t.wait_for("prod", Phase::Available, Duration::from_secs(120)).await;
    let spec = t.store.spec("prod").await.unwrap().unwrap();
    let server: SocketAddr = ([127, 0, 0, 1], spec.port).into();
    // Nothing listens here: a connection carried to it is refused.
    let nowhere: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();

    let api = PodApi::start().await;
    api.pod("prod-1", &primary("prod"), server);
    api.pod("prod-2", &replica("prod"), nowhere);
    let reach = Reach::port_forward();
    let Reach::PortForward(forwards) = &reach else { unreachable!("port_forward() forwards") };
    forwards.attach(api.client("fleet"), "fleet");

    let login = || Login { user: &spec.pg_user, password: &spec.pg_password, database: &spec.pg_database };
    let (host, port) = reach.address("prod").unwrap();
    assert_eq!(host, "127.0.0.1");
    assert_eq!(reach.address("prod").unwrap().1, port, "one listener per database");
    assert_eq!(reach.url_query(), "?sslmode=require", "clients insist on the TLS CloudNativePG offers");

    // Two connections at once, each its own forward, both to prod-1.
    let mut first = connect::connect(&reach, "prod", login()).await.expect("connected through the forward");
    let mut second = connect::connect(&reach, "prod", login()).await.expect("a second connection");
    assert_eq!(scalar(&mut first, "SELECT 1::int8").await, 1);
    assert!(scalar(&mut second, "SELECT pg_backend_pid()::int8").await > 0);
    let asked = api.asked();
    assert!(asked.contains(&"list cnpg.io/cluster=prod,cnpg.io/instanceRole=primary".to_string()), "{asked:?}");
    assert_eq!(asked.iter().filter(|a| *a == "forward prod-1 5432").count(), 2, "{asked:?}");

    // A switchover: the next connection goes to the new primary.
    api.pod("prod-1", &replica("prod"), nowhere);
    api.pod("prod-2", &primary("prod"), server);
    let mut after = connect::connect(&reach, "prod", login()).await.expect("connected to the new primary");
    assert_eq!(scalar(&mut after, "SELECT 2::int8").await, 2);
    assert!(api.asked().contains(&"forward prod-2 5432".to_string()));
    // The connections made before it stay up.
    assert_eq!(scalar(&mut first, "SELECT 3::int8").await, 3);

    // No primary at all: the connection fails, in words.
    let (_, other_port) = reach.address("other").unwrap();
    assert_ne!(other_port, port);
    match connect::connect(&reach, "other", login()).await {
        Ok(_) => panic!("a cluster with no pods cannot be reached"),
        Err(e) => assert!(e.to_string().contains(&format!("127.0.0.1:{other_port}")), "{e}"),
    }

    // Destroyed: its listener closes.
    drop((first, second, after));
    forwards.forget("prod");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "the listener for prod is still open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
