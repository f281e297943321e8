//! `teectl reference tdx`: the values a TD's quote must carry.
//!
//! - `--tdvf FILE`: MRTD of a TDVF image (one-pass page-add order unless
//!   `--two-pass`: the order depends on the host stack, see
//!   `docs/reference-values.md`);
//! - `--event-log CCEL [--app-log FILE]`: RTMR0–3 from a known-good CCEL
//!   log area and the SDK's application log (JSON), events listed per RTMR;
//! - `--init-data FILE`: MRCONFIGID for Confidential Containers init-data.
//!
//! Any combination (at least one). `--explain` prints every input and step,
//! `--json` the reference values as JSON, `--policy-out FILE` a policy
//! (atomic write) that `teectl verify --policy` reads as is: MRTD in
//! `allowed_measurements`, `[tdx] allowed_rtmr0..3`, `host_data` =
//! MRCONFIGID; everything else stays at the fail-closed defaults.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use tee::reference::ReferenceValue;
use tee::tdx::reference::{self as r, MrtdOptions, PageAddOrder, RtmrReference, TranscriptDetail};
use tee::{EventLog, Policy};

use crate::common::{self, CliError};
use crate::exit;

/// Largest application log accepted (16 MiB).
const MAX_APP_LOG: usize = 16 << 20;

/// Flags of `teectl reference tdx`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).multiple(true)
    .args(["tdvf", "event_log", "init_data"])))]
pub(crate) struct Args {
    /// The TDVF firmware image (e.g. OVMF.inteltdx.ms.fd): computes MRTD.
    #[arg(long, value_name = "FILE")]
    tdvf: Option<PathBuf>,
    /// Replay the pages in two-pass order (all PAGE.ADDs of a section, then
    /// its EXTENDs): QEMU 8.x TDX patch sets, Ubuntu 24.04 TDX hosts. The
    /// default is one-pass (upstream KVM 6.16+, QEMU 9/10).
    #[arg(long, requires = "tdvf")]
    two_pass: bool,
    /// A known-good CCEL log area (/sys/firmware/acpi/tables/data/CCEL): computes RTMR0-3.
    #[arg(long, value_name = "CCEL")]
    event_log: Option<PathBuf>,
    /// The SDK's application event log (JSON), replayed after the CCEL.
    #[arg(long, value_name = "FILE", requires = "event_log")]
    app_log: Option<PathBuf>,
    /// A Confidential Containers init-data TOML document: computes MRCONFIGID.
    #[arg(long, value_name = "FILE")]
    init_data: Option<PathBuf>,
    /// Print the reference values as JSON.
    #[arg(long)]
    json: bool,
    /// Print every input and step (sections with running digests, events per RTMR).
    #[arg(long)]
    explain: bool,
    /// With --explain: also every MEM.PAGE.ADD and MR.EXTEND with its GPA.
    #[arg(long, requires = "explain")]
    explain_pages: bool,
    /// Write a policy pinning these values (TOML, read by `teectl verify --policy`).
    #[arg(long, value_name = "FILE")]
    policy_out: Option<PathBuf>,
}

struct Computed {
    mr_td: Option<ReferenceValue>,
    tdvf: Option<PathBuf>,
    order: PageAddOrder,
    rtmrs: Option<RtmrReference>,
    mr_config_id: Option<ReferenceValue>,
}

fn ctx(p: &Path) -> impl Fn(tee::Error) -> CliError + '_ {
    move |e| CliError::from(e).context(p.display())
}

fn compute(a: &Args) -> Result<Computed, CliError> {
    let order = if a.two_pass {
        PageAddOrder::TwoPass
    } else {
        PageAddOrder::OnePass
    };
    let detail = if a.explain_pages {
        TranscriptDetail::Pages
    } else {
        TranscriptDetail::Sections
    };
    let mr_td = match &a.tdvf {
        Some(p) => {
            let img = common::read_bounded(p, common::limit::FIRMWARE, "TDVF image")?;
            let mut v = r::mrtd(&img, MrtdOptions::new(order).detail(detail)).map_err(ctx(p))?;
            prepend_path(&mut v, "tdvf_path", p);
            Some(v)
        }
        None => None,
    };
    let app = match &a.app_log {
        Some(p) => {
            let b = common::read_bounded(p, MAX_APP_LOG as u64, "application event log")?;
            let log: EventLog = serde_json::from_slice(&b)
                .map_err(|e| CliError::from(tee::Error::encoding("application event log", e)))
                .map_err(|e| e.context(p.display()))?;
            Some(log)
        }
        None => None,
    };
    let rtmrs = match &a.event_log {
        Some(p) => {
            let b = common::read_bounded(p, common::limit::EVENT_LOG, "event log")?;
            Some(r::rtmr_reference(&b, app.as_ref()).map_err(ctx(p))?)
        }
        None => None,
    };
    let mr_config_id = match &a.init_data {
        Some(p) => {
            let b = common::read_bounded(p, common::limit::USER_DATA, "init data")?;
            let mut v = r::mr_config_id(&b).map_err(ctx(p))?;
            prepend_path(&mut v, "init_data_path", p);
            Some(v)
        }
        None => None,
    };
    Ok(Computed {
        mr_td,
        tdvf: a.tdvf.clone(),
        order,
        rtmrs,
        mr_config_id,
    })
}

/// Put the file's path first among the transcript's inputs.
fn prepend_path(v: &mut ReferenceValue, name: &str, p: &Path) {
    let mut t = tee::reference::Transcript::default();
    t.input(name, p.display().to_string());
    t.inputs.append(&mut v.transcript.inputs);
    v.transcript.inputs = t.inputs;
}

/// The policy: the fail-closed defaults with these values pinned, preceded
/// by comments naming the inputs.
fn policy_text(c: &Computed) -> Result<String, CliError> {
    let p = r::policy(
        Policy::new(),
        c.mr_td.as_ref(),
        c.rtmrs.as_ref(),
        c.mr_config_id.as_ref(),
    );
    let mut s = String::from("# Written by `teectl reference tdx`.\n");
    if let Some(m) = &c.mr_td {
        let _ = writeln!(
            s,
            "# allowed_measurements: MRTD ({} page-add order; the other order is another value) of",
            c.order.name()
        );
        for i in &m.transcript.inputs {
            let _ = writeln!(s, "#   {}: {}", i.name, i.value);
        }
    }
    if let Some(rt) = &c.rtmrs {
        let _ = writeln!(
            s,
            "# [tdx] allowed_rtmr0..3: replay of {} events; RTMR3 is pinned too (zero if nothing extended it)",
            rt.events.len()
        );
        if let Some(rv) = rt.rtmrs.first() {
            for i in &rv.transcript.inputs {
                let _ = writeln!(s, "#   {}: {}", i.name, i.value);
            }
        }
    }
    if let Some(m) = &c.mr_config_id {
        let _ = writeln!(s, "# host_data: MRCONFIGID of the init-data document");
        for i in &m.transcript.inputs {
            let _ = writeln!(s, "#   {}: {}", i.name, i.value);
        }
    }
    s.push_str(&p.to_toml()?);
    Ok(s)
}

fn explain_value(out: &mut String, v: &ReferenceValue) {
    let _ = writeln!(out, "{} = {}", v.name, v.value);
    for i in &v.transcript.inputs {
        let _ = writeln!(out, "  input {}: {}", i.name, i.value);
    }
    for s in &v.transcript.steps {
        let gpa = s.gpa.map(|g| format!(" {g:#x}")).unwrap_or_default();
        let d = s
            .digest_after
            .as_ref()
            .map(|d| format!("\n      -> {d}"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {:>5} {}{gpa}: {}{d}", s.index, s.op, s.detail);
    }
}

fn text(c: &Computed, explain: bool) -> String {
    let mut out = String::new();
    if let Some(m) = &c.mr_td {
        if explain {
            explain_value(&mut out, m);
        } else {
            let _ = writeln!(out, "MRTD ({}): {}", c.order.name(), m.value);
        }
    }
    if let Some(rt) = &c.rtmrs {
        for (i, v) in rt.rtmrs.iter().enumerate() {
            let n = rt.events_for(i as u32).count();
            let _ = writeln!(out, "RTMR{i}: {} ({n} events)", v.value);
            if explain {
                for e in rt.events_for(i as u32) {
                    let src = match e.source {
                        r::EventSource::Ccel => "ccel",
                        _ => "app",
                    };
                    let _ = writeln!(
                        out,
                        "  [{src} #{}] {} {} {}",
                        e.index, e.type_name, e.digest, e.description
                    );
                }
            }
        }
        if explain {
            let _ = writeln!(out, "  ({} EV_NO_ACTION records skipped)", rt.skipped);
        }
    }
    if let Some(m) = &c.mr_config_id {
        if explain {
            explain_value(&mut out, m);
        } else {
            let _ = writeln!(out, "MRCONFIGID: {}", m.value);
        }
    }
    out
}

fn json(c: &Computed) -> Result<String, CliError> {
    let mut j = serde_json::Map::new();
    if let Some(m) = &c.mr_td {
        j.insert("page_add_order".into(), c.order.name().into());
        j.insert("mr_td".into(), to_value(m)?);
    }
    if let Some(p) = &c.tdvf {
        // What `teectl verify --reference-inputs` reads back.
        j.insert(
            "reference_inputs".into(),
            serde_json::json!({
                "platform": "tdx",
                "tdvf": super::absolute(p).display().to_string(),
                "page_add_order": c.order.name(),
            }),
        );
    }
    if let Some(rt) = &c.rtmrs {
        j.insert("rtmrs".into(), to_value(&rt.rtmrs)?);
        j.insert("events".into(), to_value(&rt.events)?);
    }
    if let Some(m) = &c.mr_config_id {
        j.insert("mr_config_id".into(), to_value(m)?);
    }
    serde_json::to_string_pretty(&j).map_err(|e| CliError::usage(format!("JSON encoding: {e}")))
}

/// The inputs file of `teectl verify --reference-inputs` (TDX).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InputsFile {
    tdvf: PathBuf,
    #[serde(default)]
    page_add_order: Option<String>,
}

/// Recompute MRTD from an inputs file and diagnose the quote's MRTD
/// against it: the lines `teectl verify --explain-measurement` prints.
pub(crate) fn recompute(
    v: serde_json::Value,
    base: &Path,
    mr_td: &[u8],
) -> Result<Vec<String>, CliError> {
    let f: InputsFile = serde_json::from_value(v)
        .map_err(|e| CliError::usage(format!("TDX reference inputs: {e}")))?;
    let order = match f.page_add_order.as_deref() {
        None | Some("one-pass") => PageAddOrder::OnePass,
        Some("two-pass") => PageAddOrder::TwoPass,
        Some(o) => {
            return Err(CliError::usage(format!(
                "TDX reference inputs: page_add_order {o:?} is not one-pass or two-pass"
            )));
        }
    };
    let p = base.join(&f.tdvf);
    let img = common::read_bounded(&p, common::limit::FIRMWARE, "TDVF image")?;
    let (m, diag) = r::diagnose_mrtd(&img, MrtdOptions::new(order), mr_td).map_err(ctx(&p))?;
    let mut v = m.reference();
    prepend_path(&mut v, "tdvf_path", &p);
    let mut text = String::new();
    explain_value(&mut text, &v);
    let mut out: Vec<String> = vec!["recomputed from the reference inputs:".into()];
    out.extend(text.lines().map(|l| format!("  {l}")));
    out.push(match diag {
        r::MrtdDiagnosis::InputsMatch => format!(
            "verdict: the recomputed MRTD EQUALS the evidence's: this image in {} order is what \
             the host launched, so the policy's reference value is stale; write it again with \
             `teectl reference tdx --tdvf ... --policy-out FILE`",
            order.name()
        ),
        r::MrtdDiagnosis::OtherOrder(o) => format!(
            "verdict: the recomputed MRTD differs from the evidence's, but this image in {} order \
             gives it: the host's VMM/KVM stack adds pages {} (the inputs say {}); recompute with \
             that order{}",
            o.name(),
            o.name(),
            order.name(),
            if o == PageAddOrder::TwoPass {
                " (--two-pass)"
            } else {
                ""
            }
        ),
        r::MrtdDiagnosis::NoMatch => "verdict: the recomputed MRTD differs from the evidence's in \
             both page-add orders: the TDVF image differs from what the host launched (compare \
             its sha256 above with the host's firmware)"
            .into(),
        _ => "verdict: unknown".into(),
    });
    Ok(out)
}

fn to_value<T: serde::Serialize + ?Sized>(v: &T) -> Result<serde_json::Value, CliError> {
    serde_json::to_value(v).map_err(|e| CliError::usage(format!("JSON encoding: {e}")))
}

pub(crate) fn run(a: Args) -> Result<u8, CliError> {
    let c = compute(&a)?;
    if let Some(p) = &a.policy_out {
        common::write_atomic(p, policy_text(&c)?.as_bytes())?;
    }
    let s = if a.json {
        json(&c)?
    } else {
        text(&c, a.explain)
    };
    out(s.trim_end());
    Ok(exit::OK)
}

/// Print to stdout; a closed pipe (e.g. `| head`) ends output quietly.
fn out(s: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout().lock(), "{s}");
}
