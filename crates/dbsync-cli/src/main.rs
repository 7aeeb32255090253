//! The `dbsync` command (being built).

fn main() {
    println!("dbsync: not built yet");
}
