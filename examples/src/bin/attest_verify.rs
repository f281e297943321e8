//! A workload attests; a relying party verifies and appraises.
//!
//! `cargo run -p tee-examples --bin attest_verify` (uses the mock: NO SECURITY)

use tee::{Platform, Policy, ReportData, UnixTime, appraise};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Relying party: issue a nonce.
    let nonce = b"relying-party nonce 42";

    // Workload: bind the nonce (and its public key, say) into evidence.
    let backend = tee::open(Platform::Mock)?;
    let user_data = b"workload public key";
    let evidence = backend
        .attester()?
        .attest(&ReportData::bind(nonce, user_data))?;
    let json = evidence.to_json()?;

    // Relying party: parse, verify authenticity, appraise.
    let evidence = tee::Evidence::from_json(json.as_bytes())?;
    let claims = tee::Verifiers::new()
        .trust_mock_root()
        .verify(&evidence, UnixTime::now())?;
    let policy = Policy::new()
        .allow_mock(true)
        .expect_report_data(ReportData::bind(nonce, user_data));
    let appraisal = appraise(&claims, &policy);
    for c in &appraisal.checks {
        println!("{:?}\t{}\t{}", c.outcome, c.name, c.detail);
    }
    appraisal.into_result()?;
    println!("accepted {} evidence", claims.platform);
    Ok(())
}
