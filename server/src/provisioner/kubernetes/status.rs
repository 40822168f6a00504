//! What a `Cluster`'s status means in pgfleet's phases: one pure function
//! of the status the operator wrote (its `phase`, the `Ready` condition,
//! `readyInstances`), keeping the operator's own words as the message.

use app::model::Phase;

use super::cnpg::{Cluster, ClusterStatus};

/// The operator's phase for a cluster that serves as asked.
pub const HEALTHY: &str = "Cluster in healthy state";
/// Phases after which the operator will not go on by itself.
const STUCK: &[&str] = &["Cluster is unrecoverable and needs manual intervention", "Waiting for user action"];
/// Phases of a cluster that exists and is briefly not serving.
const RESTARTING: &[&str] = &[
    "Failing over",
    "Switchover in progress",
    "Upgrading cluster",
    "Primary instance is being restarted in-place",
    "Primary instance is being restarted without a switchover",
    "Applying configuration",
];

/// The phase of `cluster` and why, for a database that is a follower
/// (`following`) or was asked to be promoted (`promoting`).
pub fn phase(cluster: &Cluster, following: bool, promoting: bool) -> (Phase, Option<String>) {
    let Some(status) = cluster.status.as_ref() else {
        return (Phase::Provisioning, Some("waiting for the operator to take the cluster up".into()));
    };
    let words = operator_words(status);
    let operator_phase = status.phase.as_deref().unwrap_or("");
    let ready = status.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True");
    let wanted = i64::from(cluster.spec.instances);
    let ready_instances = status.ready_instances.unwrap_or(0);
    let is_replica = cluster.spec.replica.as_ref().is_some_and(|r| r.enabled);
    if STUCK.contains(&operator_phase) || operator_phase.starts_with("Unable to") || operator_phase.contains("cannot") {
        return (Phase::Failed, words);
    }
    if promoting && (is_replica || !ready) {
        return (Phase::Promoting, words);
    }
    if ready && operator_phase == HEALTHY && ready_instances >= wanted {
        return (Phase::Available, None);
    }
    if RESTARTING.contains(&operator_phase) {
        return (Phase::Restarting, words);
    }
    if following && ready_instances >= 1 {
        // Its designated primary streams; the standbys are still being made.
        return (Phase::CatchingUp, words);
    }
    (Phase::Provisioning, words)
}

fn operator_words(status: &ClusterStatus) -> Option<String> {
    match (status.phase.as_deref(), status.phase_reason.as_deref()) {
        (Some(phase), Some(reason)) if !reason.is_empty() => Some(format!("{phase}: {reason}")),
        (Some(phase), _) if !phase.is_empty() => Some(phase.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::cnpg::{ClusterSpec, Condition, ReplicaConfiguration};
    use super::*;

    fn cluster(instances: u32, phase: &str, ready: bool, ready_instances: i64) -> Cluster {
        let mut cluster = Cluster::new("prod", ClusterSpec { instances, ..Default::default() });
        cluster.status = Some(ClusterStatus {
            phase: Some(phase.into()),
            ready_instances: Some(ready_instances),
            conditions: vec![Condition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                ..Default::default()
            }],
            ..Default::default()
        });
        cluster
    }

    #[test]
    fn healthy_and_ready_with_every_instance_is_available() {
        assert_eq!(phase(&cluster(2, HEALTHY, true, 2), false, false), (Phase::Available, None));
        let (p, why) = phase(&cluster(2, "Creating a new replica", false, 1), false, false);
        assert_eq!((p, why.as_deref()), (Phase::Provisioning, Some("Creating a new replica")));
    }

    #[test]
    fn a_new_cluster_without_status_is_provisioning() {
        let fresh = Cluster::new("prod", ClusterSpec { instances: 1, ..Default::default() });
        assert_eq!(phase(&fresh, false, false).0, Phase::Provisioning);
    }

    #[test]
    fn the_operators_words_are_kept() {
        let mut c = cluster(1, "Setting up primary", false, 0);
        c.status.as_mut().unwrap().phase_reason = Some("Creating primary instance prod-1".into());
        assert_eq!(
            phase(&c, false, false),
            (Phase::Provisioning, Some("Setting up primary: Creating primary instance prod-1".into()))
        );
    }

    #[test]
    fn an_unrecoverable_cluster_fails_and_a_failover_restarts() {
        assert_eq!(
            phase(&cluster(1, "Cluster is unrecoverable and needs manual intervention", false, 0), false, false).0,
            Phase::Failed
        );
        assert_eq!(phase(&cluster(3, "Failing over", false, 2), false, false).0, Phase::Restarting);
    }

    #[test]
    fn a_follower_streams_before_its_standbys_exist_and_promotes_until_it_is_no_replica() {
        let mut c = cluster(2, "Creating a new replica", false, 1);
        c.spec.replica = Some(ReplicaConfiguration { enabled: true, source: "prod".into() });
        assert_eq!(phase(&c, true, false).0, Phase::CatchingUp);
        let mut promoted = cluster(2, HEALTHY, true, 2);
        promoted.spec.replica = Some(ReplicaConfiguration { enabled: true, source: "prod".into() });
        assert_eq!(phase(&promoted, false, true).0, Phase::Promoting);
        promoted.spec.replica.as_mut().unwrap().enabled = false;
        assert_eq!(phase(&promoted, false, true).0, Phase::Available);
    }
}
