//! Seal a secret so only the same workload can open it.
//!
//! `cargo run -p tee-examples --bin seal_secret` (uses the mock: NO SECURITY)

use tee::{Platform, SealPolicy};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = tee::open(Platform::Mock)?;
    let sealer = backend.sealer()?;
    let policy = SealPolicy::measurement("example-db-key");
    let blob = sealer.seal(b"s3cret", &policy)?;
    println!("sealed blob header: {:?}", tee::seal::inspect(&blob)?);
    let plain = sealer.unseal(&blob, &policy)?;
    assert_eq!(plain.as_slice(), b"s3cret");
    match sealer.unseal(&blob, &SealPolicy::measurement("another purpose")) {
        Err(e) => println!("another purpose is refused: {e}"),
        Ok(_) => return Err("unsealed under the wrong policy".into()),
    }
    Ok(())
}
