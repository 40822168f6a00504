//! Plans: named sizes that set PostgreSQL settings. A small table in code,
//! like Heroku's plan names.

/// One plan's PostgreSQL settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub name: &'static str,
    pub max_connections: u32,
    pub shared_buffers: &'static str,
    pub work_mem: &'static str,
    /// How long its backups (and so its restore window) reach back.
    pub backup_retention_days: u32,
    /// On Kubernetes: PostgreSQL instances (a primary and hot standbys),
    /// and each one's CPU, memory and volume.
    pub instances: u32,
    pub cpu: &'static str,
    pub memory: &'static str,
    pub storage: &'static str,
}

/// Every plan, smallest first.
pub const PLANS: &[Plan] = &[
    Plan {
        name: "mini",
        max_connections: 20,
        shared_buffers: "32MB",
        work_mem: "2MB",
        backup_retention_days: 1,
        instances: 1,
        cpu: "250m",
        memory: "256Mi",
        storage: "1Gi",
    },
    Plan {
        name: "standard",
        max_connections: 100,
        shared_buffers: "128MB",
        work_mem: "4MB",
        backup_retention_days: 7,
        instances: 2,
        cpu: "1",
        memory: "1Gi",
        storage: "10Gi",
    },
    Plan {
        name: "premium",
        max_connections: 200,
        shared_buffers: "512MB",
        work_mem: "8MB",
        backup_retention_days: 14,
        instances: 3,
        cpu: "2",
        memory: "4Gi",
        storage: "50Gi",
    },
];

/// The plan used when a request names none.
pub const DEFAULT_PLAN: &str = "mini";

pub fn find(name: &str) -> Option<&'static Plan> {
    PLANS.iter().find(|p| p.name == name)
}

/// The plans' names, for error messages.
pub fn names() -> String {
    PLANS.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
}
