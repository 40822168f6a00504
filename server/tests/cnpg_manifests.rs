//! Every manifest the Kubernetes backend produces, for every kind of
//! database and every plan and backup store, validates against
//! CloudNativePG's own CRD schemas (v1.29.2, `server/tests/cnpg/`), strictly:
//! an unknown field or a missing required one fails, as it would be
//! rejected (or silently dropped) by a real API server.

mod common;

use app::model::{BackupKind, ForkPoint, ForkPolicy};
use pgfleet::engine::plans::PLANS;
use pgfleet::engine::spec::{Desired, Origin, Spec};
use pgfleet::provisioner::kubernetes::manifests::{self, BackupStore, Install, ObjectStore};
use serde_json::{json, Value};

fn spec(name: &str, plan: &str, origin: Origin, source: Option<&str>) -> Spec {
    Spec {
        name: name.into(),
        plan: plan.into(),
        origin,
        source: source.map(str::to_string),
        port: 5432,
        pg_user: "u_app".into(),
        pg_password: "owner-secret".into(),
        pg_database: "app".into(),
        replication_password: "replication-secret".into(),
        desired: Desired::Running,
        take_followers: false,
        promote: false,
        created_at: chrono::Utc::now(),
        owner: Some("ada".into()),
        protected: false,
        fork_policy: ForkPolicy::Open,
        expires_at: None,
        public: false,
        fork_point: None,
        backup_wanted_at: None,
        roles: Vec::new(),
        reset_generation: 0,
        unmasked_reason: None,
    }
}

fn installs() -> Vec<(&'static str, Install)> {
    let store = ObjectStore {
        destination: "s3://backups/pgfleet".into(),
        endpoint: Some("https://minio.fleet.svc:9000".into()),
        credentials: "pgfleet-s3".into(),
    };
    let base = Install { namespace: "fleet".into(), image: None, storage_class: None, backups: BackupStore::default() };
    vec![
        ("no backups", base.clone()),
        (
            "object store",
            Install {
                image: Some("ghcr.io/cloudnative-pg/postgresql:17.5".into()),
                storage_class: Some("fast".into()),
                backups: BackupStore { object_store: Some(store.clone()), snapshot_class: None },
                ..base.clone()
            },
        ),
        (
            "volume snapshots",
            Install {
                backups: BackupStore { object_store: Some(store), snapshot_class: Some("csi-snapclass".into()) },
                ..base
            },
        ),
    ]
}

/// Every kind of database on `plan`, with its source.
fn databases(plan: &str) -> Vec<(Spec, Option<Spec>)> {
    let prod = spec("prod", plan, Origin::Empty, None);
    let reader = spec("reader", plan, Origin::Follow, Some("prod"));
    let mut promoted = spec("promoted", plan, Origin::Follow, Some("prod"));
    promoted.promote = true;
    let trial = spec("trial", plan, Origin::Fork, Some("prod"));
    let mut then = spec("then", plan, Origin::Fork, Some("prod"));
    then.fork_point = Some(ForkPoint::Time(chrono::Utc::now() - chrono::Duration::hours(2)));
    let mut at_lsn = spec("at-lsn", plan, Origin::Fork, Some("prod"));
    at_lsn.fork_point = Some(ForkPoint::Lsn("0/3000060".into()));
    vec![
        (prod.clone(), None),
        (reader, Some(prod.clone())),
        (promoted, Some(prod.clone())),
        (trial, Some(prod.clone())),
        (then, Some(prod.clone())),
        (at_lsn, Some(prod)),
    ]
}

fn assert_valid(what: &str, object: &Value, schema: &Value) {
    let errors = common::crd::validate(object, schema);
    assert!(errors.is_empty(), "{what}:\n{}\n{}", errors.join("\n"), serde_json::to_string_pretty(object).unwrap());
}

#[test]
fn every_cluster_and_backup_validates_against_the_operators_schemas() {
    let clusters = common::crd::cnpg_schema("postgresql.cnpg.io_clusters.yaml");
    let backups = common::crd::cnpg_schema("postgresql.cnpg.io_backups.yaml");
    let mut checked = 0;
    for (install_name, install) in installs() {
        for plan in PLANS {
            for (db, source) in databases(plan.name) {
                let what = format!("{} ({}, {install_name})", db.name, plan.name);
                let cluster = match manifests::cluster(&db, source.as_ref().map(|s| s.name.as_str()), &install) {
                    Ok(cluster) => cluster,
                    Err(manifests::ManifestError::NoArchive) => {
                        assert!(install.backups.object_store.is_none() && db.fork_point.is_some(), "{what}");
                        continue;
                    }
                    Err(e) => panic!("{what}: {e}"),
                };
                let object = serde_json::to_value(&cluster).unwrap();
                assert_eq!(object["apiVersion"], "postgresql.cnpg.io/v1");
                assert_eq!(object["kind"], "Cluster");
                assert_eq!(object["metadata"]["labels"]["pgfleet.io/database"], db.name.as_str());
                assert_valid(&what, &object, &clusters);
                checked += 1;
                for kind in [BackupKind::Full, BackupKind::Snapshot] {
                    if let Some(backup) = manifests::backup_now(&db, &format!("{}-manual-1", db.name), kind, &install) {
                        assert_valid(&what, &serde_json::to_value(&backup).unwrap(), &backups);
                        checked += 1;
                    }
                }
            }
        }
    }
    // 3 installs × 3 plans × 6 kinds, less 2 past-moment forks without an
    // archive per plan; a backup of each kind an install keeps (full with
    // an object store, snapshots with a snapshot class).
    assert_eq!(checked, (3 * 3 * 6 - 3 * 2) + (3 * 6) + 2 * (3 * 6));
}

#[test]
fn the_validator_rejects_what_an_api_server_would() {
    let clusters = common::crd::cnpg_schema("postgresql.cnpg.io_clusters.yaml");
    let prod = spec("prod", "mini", Origin::Empty, None);
    let good = serde_json::to_value(manifests::cluster(&prod, None, &installs()[1].1).unwrap()).unwrap();
    assert!(common::crd::validate(&good, &clusters).is_empty());
    let broken = |change: &dyn Fn(&mut Value)| {
        let mut object = good.clone();
        change(&mut object);
        common::crd::validate(&object, &clusters)
    };
    let unknown = broken(&|o| o["spec"]["bootstrap"]["initdb"]["databse"] = json!("app"));
    assert!(unknown.iter().any(|e| e.contains("spec.bootstrap.initdb.databse: unknown field")), "{unknown:?}");
    let missing = broken(&|o| {
        o["spec"].as_object_mut().unwrap().remove("instances");
    });
    assert!(missing.iter().any(|e| e.contains("instances is required")), "{missing:?}");
    let wrong_type = broken(&|o| o["spec"]["instances"] = json!("two"));
    assert!(!wrong_type.is_empty());
    let bad_quantity = broken(&|o| o["spec"]["resources"]["requests"]["cpu"] = json!("lots"));
    assert!(!bad_quantity.is_empty(), "quantities follow their pattern");
    let both_images = broken(&|o| {
        o["spec"]["imageCatalogRef"] =
            json!({"apiGroup": "postgresql.cnpg.io", "kind": "ImageCatalog", "name": "c", "major": 17})
    });
    assert!(both_images.iter().any(|e| e.contains("mutually exclusive")), "{both_images:?}");
    let bad_name = broken(&|o| o["metadata"]["name"] = json!("Prod_1"));
    assert!(bad_name.iter().any(|e| e.contains("metadata.name")), "{bad_name:?}");
}

#[test]
fn additional_roles_are_managed_roles_with_secrets_of_their_own() {
    use app::roles::RoleAccess;
    use pgfleet::engine::spec::ExtraRole;
    let clusters = common::crd::cnpg_schema("postgresql.cnpg.io_clusters.yaml");
    let role = |name: &str, access, dropped| ExtraRole {
        name: name.into(),
        access,
        password: format!("{name}-secret"),
        created_at: chrono::Utc::now(),
        created_by: Some("ada".into()),
        password_set_at: chrono::Utc::now(),
        dropped,
    };
    let mut prod = spec("prod", "mini", Origin::Empty, None);
    prod.roles = vec![
        role("analyst", RoleAccess::ReadOnly, false),
        role("etl_writer", RoleAccess::ReadWrite, false),
        role("gone", RoleAccess::ReadOnly, true),
    ];
    let install = &installs()[1].1;
    let cluster = serde_json::to_value(manifests::cluster(&prod, None, install).unwrap()).unwrap();
    assert_valid("prod with roles", &cluster, &clusters);
    let roles = cluster["spec"]["managed"]["roles"].as_array().unwrap();
    let find = |name: &str| roles.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("{name}: {roles:?}"));
    assert_eq!(find("analyst")["inRoles"], json!(["pg_read_all_data"]));
    assert_eq!(find("analyst")["login"], true);
    assert_eq!(find("analyst")["passwordSecret"]["name"], "prod-pgfleet-role-analyst");
    assert_eq!(find("etl_writer")["inRoles"], json!(["pg_read_all_data", "pg_write_all_data"]));
    assert_eq!(find("etl_writer")["passwordSecret"]["name"], "prod-pgfleet-role-etl-writer");
    assert_eq!(find("gone")["ensure"], "absent");
    assert!(find("gone").get("passwordSecret").is_none());

    // A Secret per live role, in the format the operator reads.
    let secrets = manifests::secrets(&prod, install);
    let names: Vec<&str> = secrets.iter().map(|s| s.metadata.name.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        ["prod-pgfleet-owner", "prod-pgfleet-replication", "prod-pgfleet-role-analyst", "prod-pgfleet-role-etl-writer"]
    );
    let writer = secrets[3].string_data.as_ref().unwrap();
    assert_eq!(writer["username"], "etl_writer");
    assert_eq!(writer["password"], "etl_writer-secret");
    assert_eq!(secrets[3].type_.as_deref(), Some("kubernetes.io/basic-auth"));

    // A fork drops every role its source's copy carried.
    let mut trial = spec("trial", "mini", Origin::Fork, Some("prod"));
    trial.roles = Spec::inherited_tombstones(&prod);
    let fork = serde_json::to_value(manifests::cluster(&trial, Some("prod"), install).unwrap()).unwrap();
    assert_valid("fork with inherited roles", &fork, &clusters);
    let absent: Vec<&Value> = fork["spec"]["managed"]["roles"].as_array().unwrap()[2..].iter().collect();
    assert_eq!(absent.len(), 3);
    assert!(absent.iter().all(|r| r["ensure"] == "absent" && r.get("passwordSecret").is_none()), "{absent:?}");
    assert_eq!(manifests::secrets(&trial, install).len(), 2, "no Secret for a dropped role");
}
