//! What pgfleet asks of Kubernetes for one database, as pure functions of
//! its spec, its source's and the install's settings: the `Cluster`, the
//! Secrets pgfleet makes for it, and its on-demand `Backup`s.
//!
//! - empty: `bootstrap.initdb` with the owner's database and role;
//! - follower of X: a replica cluster, `bootstrap.pg_basebackup` and
//!   `replica` naming an `externalClusters` entry for X's `-rw` service,
//!   streaming as X's `pgfleet_replication` role;
//! - fork of X now: `bootstrap.pg_basebackup` from X, not a replica;
//! - fork of X at a moment: `bootstrap.recovery` from X's object store (or
//!   a volume snapshot of X and its archived WAL) up to the moment.
//!
//! Every cluster keeps its owner and `pgfleet_replication` roles as managed
//! roles (passwords in pgfleet's Secrets), so a promoted follower takes its
//! own passwords and can be followed in turn. Plans map to `instances`,
//! `resources`, `storage.size` and PostgreSQL's parameters.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::cnpg::*;
use crate::engine::plans::{self, Plan};
use crate::engine::spec::{Origin, Spec};

/// The label every object pgfleet makes carries, with the database's name.
pub const DATABASE_LABEL: &str = "pgfleet.io/database";
/// And this one, saying who manages it.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "pgfleet");
/// The role followers of a database stream as.
pub const REPLICATION_ROLE: &str = "pgfleet_replication";
/// The longest database name the backend takes: the operator derives
/// names (`NAME-rw`, `NAME-1`, `NAME-pgfleet-replication`) from it and a
/// Kubernetes label or service name holds 63 characters.
pub const MAX_NAME: usize = 40;

/// Where an install keeps backups.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BackupStore {
    /// Base backups and WAL in S3 or compatible storage; without it there
    /// is no WAL archive and no fork of a past moment.
    pub object_store: Option<ObjectStore>,
    /// Base backups as volume snapshots of this class (WAL still goes to
    /// the object store).
    pub snapshot_class: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObjectStore {
    /// `s3://bucket/path`; each database's files go below it, under its
    /// name.
    pub destination: String,
    pub endpoint: Option<String>,
    /// A Secret in the namespace with `ACCESS_KEY_ID` and
    /// `ACCESS_SECRET_KEY`.
    pub credentials: String,
}

/// The settings of one Kubernetes install of pgfleet.
#[derive(Clone, Debug, PartialEq)]
pub struct Install {
    pub namespace: String,
    /// The PostgreSQL image (the operator's default when `None`).
    pub image: Option<String>,
    pub storage_class: Option<String>,
    pub backups: BackupStore,
}

/// Why a database cannot be described to Kubernetes.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ManifestError {
    #[error("on Kubernetes a database name has at most {MAX_NAME} characters and ends with a letter or digit")]
    Name,
    #[error("{0} needs its source")]
    NoSource(String),
    #[error("a fork of a past moment needs backups in an object store; this install has none")]
    NoArchive,
    #[error("unknown plan {0}")]
    Plan(String),
}

pub fn owner_secret(name: &str) -> String {
    format!("{name}-pgfleet-owner")
}

pub fn replication_secret(name: &str) -> String {
    format!("{name}-pgfleet-replication")
}

/// The Secret holding the password of `db`'s additional role `role`
/// (role names use `_`, which object names cannot).
pub fn role_secret(db: &str, role: &str) -> String {
    format!("{db}-pgfleet-role-{}", role.replace('_', "-"))
}

/// The service that always reaches a cluster's primary.
pub fn rw_host(name: &str, namespace: &str) -> String {
    format!("{name}-rw.{namespace}.svc")
}

fn labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(DATABASE_LABEL.into(), name.into()), (MANAGED_BY.0.into(), MANAGED_BY.1.into())])
}

fn meta(name: &str, database: &str, install: &Install) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(install.namespace.clone()),
        labels: Some(labels(database)),
        ..Default::default()
    }
}

pub fn check_name(name: &str) -> Result<(), ManifestError> {
    let ends_well = name.chars().last().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.len() > MAX_NAME || !ends_well {
        return Err(ManifestError::Name);
    }
    Ok(())
}

fn basic_auth(name: String, database: &str, user: &str, password: &str, install: &Install) -> Secret {
    let mut metadata = meta(&name, database, install);
    // The operator applies a changed password at once, not at its next resync.
    metadata.labels.get_or_insert_with(Default::default).insert("cnpg.io/reload".into(), "true".into());
    Secret {
        metadata,
        type_: Some("kubernetes.io/basic-auth".into()),
        string_data: Some(BTreeMap::from([("username".into(), user.into()), ("password".into(), password.into())])),
        ..Default::default()
    }
}

/// The Secrets pgfleet makes for `db`: its owner's and its replication
/// role's passwords.
pub fn secrets(db: &Spec, install: &Install) -> Vec<Secret> {
    let mut secrets = vec![
        basic_auth(owner_secret(&db.name), &db.name, &db.pg_user, &db.pg_password, install),
        basic_auth(replication_secret(&db.name), &db.name, REPLICATION_ROLE, &db.replication_password, install),
    ];
    secrets.extend(
        db.live_roles().map(|r| basic_auth(role_secret(&db.name, &r.name), &db.name, &r.name, &r.password, install)),
    );
    secrets
}

/// `db`'s additional roles as the operator manages them: a live one with
/// its Secret and access (PostgreSQL's predefined read/write roles), a
/// dropped one `absent`.
fn extra_roles(db: &Spec) -> impl Iterator<Item = RoleConfiguration> + '_ {
    db.roles.iter().map(|r| match r.dropped {
        true => RoleConfiguration { name: r.name.clone(), ensure: Some("absent".into()), ..Default::default() },
        false => RoleConfiguration {
            name: r.name.clone(),
            login: Some(true),
            password_secret: Some(LocalObjectReference { name: role_secret(&db.name, &r.name) }),
            in_roles: match r.access {
                app::roles::RoleAccess::ReadOnly => vec!["pg_read_all_data".into()],
                app::roles::RoleAccess::ReadWrite => vec!["pg_read_all_data".into(), "pg_write_all_data".into()],
            },
            comment: Some("pgfleet additional role".into()),
            ..Default::default()
        },
    })
}

/// The `Cluster` for `db`; `source` names the database it follows or forks.
pub fn cluster(db: &Spec, source: Option<&str>, install: &Install) -> Result<Cluster, ManifestError> {
    check_name(&db.name)?;
    let plan = plans::find(&db.plan).ok_or_else(|| ManifestError::Plan(db.plan.clone()))?;
    let mut spec = ClusterSpec {
        instances: plan.instances,
        image_name: install.image.clone(),
        postgresql: Some(postgresql(plan)),
        storage: Some(Storage { size: plan.storage.into(), storage_class: install.storage_class.clone() }),
        resources: Some(resources(plan)),
        backup: backup(plan, install),
        managed: Some(Managed {
            roles: vec![
                RoleConfiguration {
                    name: db.pg_user.clone(),
                    login: Some(true),
                    password_secret: Some(LocalObjectReference { name: owner_secret(&db.name) }),
                    ..Default::default()
                },
                RoleConfiguration {
                    name: REPLICATION_ROLE.into(),
                    login: Some(true),
                    replication: Some(true),
                    password_secret: Some(LocalObjectReference { name: replication_secret(&db.name) }),
                    ..Default::default()
                },
            ]
            .into_iter()
            .chain(extra_roles(db))
            .collect(),
        }),
        ..Default::default()
    };
    let owner = || LocalObjectReference { name: owner_secret(&db.name) };
    match db.origin {
        Origin::Empty => {
            spec.bootstrap = Some(Bootstrap {
                initdb: Some(InitDb {
                    database: db.pg_database.clone(),
                    owner: db.pg_user.clone(),
                    secret: owner(),
                    data_checksums: Some(true),
                }),
                ..Default::default()
            });
        }
        Origin::Follow => {
            let source = source.ok_or_else(|| ManifestError::NoSource(db.name.clone()))?;
            spec.external_clusters = vec![streaming_from(source, install)];
            spec.bootstrap = Some(Bootstrap {
                pg_basebackup: Some(PgBaseBackup { source: source.to_string(), ..Default::default() }),
                ..Default::default()
            });
            spec.replica = Some(ReplicaConfiguration { enabled: !db.promote, source: source.to_string() });
        }
        Origin::Fork => {
            let source = source.ok_or_else(|| ManifestError::NoSource(db.name.clone()))?;
            match &db.fork_point {
                None => {
                    spec.external_clusters = vec![streaming_from(source, install)];
                    spec.bootstrap = Some(Bootstrap {
                        pg_basebackup: Some(PgBaseBackup {
                            source: source.to_string(),
                            database: Some(db.pg_database.clone()),
                            owner: Some(db.pg_user.clone()),
                            secret: Some(owner()),
                        }),
                        ..Default::default()
                    });
                }
                Some(point) => {
                    let store = install.backups.object_store.as_ref().ok_or(ManifestError::NoArchive)?;
                    spec.external_clusters = vec![ExternalCluster {
                        name: source.to_string(),
                        barman_object_store: Some(object_store(store, Some(source))),
                        ..Default::default()
                    }];
                    let target = match point {
                        app::model::ForkPoint::Time(at) => RecoveryTarget {
                            target_time: Some(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
                            target_lsn: None,
                        },
                        app::model::ForkPoint::Lsn(lsn) => {
                            RecoveryTarget { target_time: None, target_lsn: Some(lsn.clone()) }
                        }
                    };
                    spec.bootstrap = Some(Bootstrap {
                        recovery: Some(Recovery {
                            source: Some(source.to_string()),
                            volume_snapshots: None,
                            recovery_target: Some(target),
                            database: db.pg_database.clone(),
                            owner: db.pg_user.clone(),
                            secret: owner(),
                        }),
                        ..Default::default()
                    });
                }
            }
        }
    }
    Ok(Cluster { metadata: meta(&db.name, &db.name, install), spec, status: None })
}

/// An on-demand backup of `db` of `kind`, named `id`; `None` when the
/// install keeps no backups of that kind.
pub fn backup_now(db: &Spec, id: &str, kind: app::model::BackupKind, install: &Install) -> Option<Backup> {
    let method = match kind {
        app::model::BackupKind::Full => install.backups.object_store.as_ref().map(|_| "barmanObjectStore"),
        app::model::BackupKind::Snapshot => install.backups.snapshot_class.as_ref().map(|_| "volumeSnapshot"),
    }?;
    Some(Backup {
        metadata: meta(id, &db.name, install),
        spec: BackupSpec { cluster: LocalObjectReference { name: db.name.clone() }, method: Some(method.into()) },
        status: None,
    })
}

fn streaming_from(source: &str, install: &Install) -> ExternalCluster {
    ExternalCluster {
        name: source.to_string(),
        connection_parameters: BTreeMap::from([
            ("host".into(), rw_host(source, &install.namespace)),
            ("user".into(), REPLICATION_ROLE.into()),
            ("dbname".into(), "postgres".into()),
            ("sslmode".into(), "require".into()),
        ]),
        password: Some(SecretKeySelector { name: replication_secret(source), key: "password".into() }),
        barman_object_store: None,
    }
}

/// `store` as the operator takes it; `server` names another cluster's
/// files in it (a cluster's own are under its name).
fn object_store(store: &ObjectStore, server: Option<&str>) -> BarmanObjectStore {
    let key = |key: &str| SecretKeySelector { name: store.credentials.clone(), key: key.into() };
    BarmanObjectStore {
        destination_path: store.destination.clone(),
        endpoint_url: store.endpoint.clone(),
        server_name: server.map(str::to_string),
        s3_credentials: Some(S3Credentials {
            access_key_id: key("ACCESS_KEY_ID"),
            secret_access_key: key("ACCESS_SECRET_KEY"),
        }),
    }
}

fn backup(plan: &Plan, install: &Install) -> Option<BackupConfiguration> {
    if install.backups.object_store.is_none() && install.backups.snapshot_class.is_none() {
        return None;
    }
    Some(BackupConfiguration {
        barman_object_store: install.backups.object_store.as_ref().map(|store| object_store(store, None)),
        volume_snapshot: install
            .backups
            .snapshot_class
            .as_ref()
            .map(|class| VolumeSnapshotConfiguration { class_name: class.clone() }),
        retention_policy: Some(format!("{}d", plan.backup_retention_days)),
    })
}

fn postgresql(plan: &Plan) -> PostgresConfiguration {
    PostgresConfiguration {
        parameters: BTreeMap::from([
            ("max_connections".into(), plan.max_connections.to_string()),
            ("shared_buffers".into(), plan.shared_buffers.into()),
            ("work_mem".into(), plan.work_mem.into()),
            // Setting any pg_stat_statements parameter makes the operator
            // preload the extension and create it in every database.
            ("pg_stat_statements.track".into(), "top".into()),
        ]),
        // Followers in other clusters stream with a password; the
        // operator's own rules cover its instances.
        pg_hba: vec![format!("hostssl replication {REPLICATION_ROLE} all scram-sha-256")],
    }
}

fn resources(plan: &Plan) -> Resources {
    let both = BTreeMap::from([("cpu".to_string(), plan.cpu.to_string()), ("memory".into(), plan.memory.into())]);
    Resources { requests: both.clone(), limits: BTreeMap::from([("memory".to_string(), plan.memory.to_string())]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn install() -> Install {
        Install {
            namespace: "fleet".into(),
            image: None,
            storage_class: None,
            backups: BackupStore {
                object_store: Some(ObjectStore {
                    destination: "s3://backups/pgfleet".into(),
                    endpoint: Some("https://minio.fleet.svc:9000".into()),
                    credentials: "pgfleet-s3".into(),
                }),
                snapshot_class: None,
            },
        }
    }

    fn spec(name: &str, origin: Origin, source: Option<&str>) -> Spec {
        Spec::example(name, "standard", origin, source)
    }

    #[test]
    fn a_follower_is_a_replica_cluster_streaming_from_its_sources_rw_service() {
        let reader = spec("reader", Origin::Follow, Some("prod"));
        let cluster = cluster(&reader, Some("prod"), &install()).unwrap();
        let replica = cluster.spec.replica.as_ref().unwrap();
        assert!(replica.enabled);
        assert_eq!(replica.source, "prod");
        let source = &cluster.spec.external_clusters[0];
        assert_eq!(source.connection_parameters["host"], "prod-rw.fleet.svc");
        assert_eq!(source.connection_parameters["user"], REPLICATION_ROLE);
        assert_eq!(source.password.as_ref().unwrap().name, "prod-pgfleet-replication");
        assert_eq!(cluster.spec.bootstrap.unwrap().pg_basebackup.unwrap().source, "prod");
        assert_eq!(cluster.spec.instances, 2);
    }

    #[test]
    fn a_promoted_follower_is_no_longer_a_replica() {
        let mut reader = spec("reader", Origin::Follow, Some("prod"));
        reader.promote = true;
        assert!(!cluster(&reader, Some("prod"), &install()).unwrap().spec.replica.unwrap().enabled);
    }

    #[test]
    fn a_fork_of_a_moment_recovers_from_the_sources_archive_to_it() {
        let mut then = spec("then", Origin::Fork, Some("prod"));
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").unwrap().to_utc();
        then.fork_point = Some(app::model::ForkPoint::Time(at));
        let cluster = cluster(&then, Some("prod"), &install()).unwrap();
        let recovery = cluster.spec.bootstrap.unwrap().recovery.unwrap();
        assert_eq!(recovery.recovery_target.unwrap().target_time.as_deref(), Some("2026-12-01T10:00:00.000000Z"));
        let archive = cluster.spec.external_clusters[0].barman_object_store.as_ref().unwrap();
        assert_eq!(archive.server_name.as_deref(), Some("prod"));
        assert!(cluster.spec.replica.is_none());

        let mut bare = install();
        bare.backups = BackupStore::default();
        assert_eq!(super::cluster(&then, Some("prod"), &bare).err(), Some(ManifestError::NoArchive));
    }

    #[test]
    fn names_kubernetes_cannot_carry_are_refused() {
        let long = spec(&"a".repeat(MAX_NAME + 1), Origin::Empty, None);
        assert_eq!(cluster(&long, None, &install()).err(), Some(ManifestError::Name));
        assert_eq!(cluster(&spec("trailing-", Origin::Empty, None), None, &install()).err(), Some(ManifestError::Name));
        assert!(cluster(&spec(&"a".repeat(MAX_NAME), Origin::Empty, None), None, &install()).is_ok());
    }
}
