//! What pgfleet reads from inside a running database to say how it is
//! doing: the counters its metrics are sampled from. The SQL here is the
//! same on every backend; a backend only hands over a connection
//! (`Provisioner::connect`).

pub mod counters;
