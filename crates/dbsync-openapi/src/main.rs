//! `dbsync-openapi postman`: writes the Postman collection of `docs/openapi.yaml` to stdout.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (Some("postman"), None) => {}
        _ => {
            eprintln!(
                "usage: dbsync-openapi postman > docs/postman/dbsync.postman_collection.json"
            );
            return ExitCode::from(2);
        }
    }
    let collection = dbsync_openapi::Document::workspace()
        .and_then(|doc| dbsync_openapi::postman::collection(&doc));
    match collection {
        Ok(collection) => {
            println!("{}", dbsync_openapi::postman::to_text(&collection));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dbsync-openapi: {e}");
            ExitCode::FAILURE
        }
    }
}
