//! The mock backend: attester, registers, sealer and fault injection.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use hkdf::Hkdf;
use sha2::Sha384;
use tee_core::evidence::{endorsement, format};
use tee_core::measurement::{event_digest, extend_sha384};
use tee_core::{
    Attester, Backend, DeviceErrorKind, Digest384, EnvelopeSealer, Error, Event, EventLog,
    Evidence, Platform, ReportData, Result, RuntimeMeasurement, SealBinding, Sealer,
    SealingKeySource,
};
use zeroize::Zeroizing;

use crate::REGISTER_COUNT;
use crate::keys;
use crate::report::MockReport;

const DEVICE: &str = "mock TEE device";

/// A fault the next device operation (attest, extend, seal, unseal) suffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The device reports busy (`DeviceErrorKind::Busy`).
    Busy,
    /// The device fails (`DeviceErrorKind::Firmware(code)`).
    DeviceError(u64),
    /// The device returns output with one flipped byte (attest only; the
    /// evidence then fails verification, as corrupted hardware output would).
    CorruptOutput,
}

#[derive(Debug)]
struct State {
    registers: [Digest384; 4],
    log: Vec<Event>,
    faults: VecDeque<Fault>,
}

/// A software TEE. **NO SECURITY.** Cheap to create; thread-safe.
#[derive(Debug)]
pub struct MockBackend {
    measurement: Digest384,
    host_data: Digest384,
    debug: bool,
    state: std::sync::Arc<Mutex<State>>,
    sealer: EnvelopeSealer<MockKeySource>,
}

/// Builder for [`MockBackend`].
#[derive(Debug, Clone)]
pub struct MockBackendBuilder {
    measurement: Digest384,
    host_data: Digest384,
    debug: bool,
    instance_secret: [u8; 32],
}

impl Default for MockBackendBuilder {
    fn default() -> Self {
        Self {
            measurement: event_digest(crate::reference::DEFAULT_WORKLOAD_IMAGE),
            host_data: [0; 48],
            debug: false,
            instance_secret: *b"tee-mock instance secret, public",
        }
    }
}

impl MockBackendBuilder {
    /// Set the launch measurement.
    #[must_use]
    pub fn measurement(mut self, m: Digest384) -> Self {
        self.measurement = m;
        self
    }

    /// Set the host data (init-data digest).
    #[must_use]
    pub fn host_data(mut self, h: Digest384) -> Self {
        self.host_data = h;
        self
    }

    /// Run as a debug TEE.
    #[must_use]
    pub fn debug(mut self, d: bool) -> Self {
        self.debug = d;
        self
    }

    /// The per-"machine" secret sealing keys derive from (a different value
    /// models another machine).
    #[must_use]
    pub fn instance_secret(mut self, s: [u8; 32]) -> Self {
        self.instance_secret = s;
        self
    }

    /// Build.
    pub fn build(self) -> MockBackend {
        MockBackend {
            measurement: self.measurement,
            host_data: self.host_data,
            debug: self.debug,
            state: std::sync::Arc::new(Mutex::new(State {
                registers: [[0; 48]; 4],
                log: Vec::new(),
                faults: VecDeque::new(),
            })),
            sealer: EnvelopeSealer::new(MockKeySource {
                measurement: self.measurement,
                instance_secret: Zeroizing::new(self.instance_secret),
            }),
        }
    }
}

impl Default for MockBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl MockBackend {
    /// A mock with the default measurement.
    pub fn new() -> Self {
        MockBackendBuilder::default().build()
    }

    /// A builder.
    pub fn builder() -> MockBackendBuilder {
        MockBackendBuilder::default()
    }

    /// The launch measurement.
    pub fn measurement(&self) -> Digest384 {
        self.measurement
    }

    /// Queue a fault for the next device operation (faults are consumed in order).
    pub fn inject_fault(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-update of
        // plain data; the data is still consistent for a mock.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Pop the next fault; device errors are returned here.
    fn device_op(&self) -> Result<Option<Fault>> {
        match self.lock().faults.pop_front() {
            Some(Fault::Busy) => Err(Error::device(
                DeviceErrorKind::Busy,
                DEVICE,
                "device busy (injected)",
            )),
            Some(Fault::DeviceError(code)) => Err(Error::device(
                DeviceErrorKind::Firmware(code),
                DEVICE,
                format_args!("firmware error {code:#x} (injected)"),
            )),
            other => Ok(other),
        }
    }
}

impl Attester for MockBackend {
    fn platform(&self) -> Platform {
        Platform::Mock
    }

    fn attest(&self, report_data: &ReportData) -> Result<Evidence> {
        let fault = self.device_op()?;
        let (registers, log) = {
            let s = self.lock();
            (s.registers, s.log.clone())
        };
        let report = MockReport {
            debug: self.debug,
            measurement: self.measurement,
            host_data: self.host_data,
            report_data: *report_data,
            registers,
            key_id: keys::key_id(&keys::ak_public()?),
        };
        let mut bytes = report.encode_body();
        let sig = keys::ak_sign(&bytes)?;
        bytes.extend_from_slice(&sig);
        if fault == Some(Fault::CorruptOutput) {
            bytes[0x70] ^= 0x40;
        }
        let mut ev = Evidence::new(Platform::Mock, format::MOCK_REPORT, bytes)
            .with_endorsement(endorsement::MOCK_AK, keys::ak_endorsement()?);
        if !log.is_empty() {
            ev.event_log = Some(EventLog::new(log));
        }
        Ok(ev)
    }
}

impl RuntimeMeasurement for MockBackend {
    fn register_count(&self) -> u32 {
        REGISTER_COUNT
    }

    fn extendable(&self, index: u32) -> bool {
        index < REGISTER_COUNT
    }

    fn read(&self, index: u32) -> Result<Digest384> {
        self.lock()
            .registers
            .get(index as usize)
            .copied()
            .ok_or_else(|| Error::Misuse(format!("mock has registers 0..3, not {index}").into()))
    }

    fn extend(&self, index: u32, description: &str, data: &[u8]) -> Result<Digest384> {
        if index >= REGISTER_COUNT {
            return Err(Error::Misuse(
                format!("mock has registers 0..3, not {index}").into(),
            ));
        }
        self.device_op()?;
        let mut s = self.lock();
        let digest = event_digest(data);
        let slot = &mut s.registers[index as usize];
        *slot = extend_sha384(slot, &digest);
        let new = *slot;
        s.log.push(Event::new(index, description, data.to_vec()));
        Ok(new)
    }

    fn event_log(&self) -> Result<EventLog> {
        Ok(EventLog::new(self.lock().log.clone()))
    }
}

impl Sealer for MockBackend {
    fn seal(&self, plaintext: &[u8], policy: &tee_core::SealPolicy) -> Result<Vec<u8>> {
        self.device_op()?;
        self.sealer.seal(plaintext, policy)
    }

    fn unseal(&self, sealed: &[u8], policy: &tee_core::SealPolicy) -> Result<Zeroizing<Vec<u8>>> {
        self.device_op()?;
        self.sealer.unseal(sealed, policy)
    }
}

impl Backend for MockBackend {
    fn platform(&self) -> Platform {
        Platform::Mock
    }

    fn attester(&self) -> Result<&dyn Attester> {
        Ok(self)
    }

    fn runtime_measurement(&self) -> Result<&dyn RuntimeMeasurement> {
        Ok(self)
    }

    fn sealer(&self) -> Result<&dyn Sealer> {
        Ok(self)
    }
}

/// The mock's sealing key source: HKDF-SHA384 over the instance secret,
/// mixing in the measurement for [`SealBinding::Measurement`].
#[derive(Debug)]
pub struct MockKeySource {
    measurement: Digest384,
    instance_secret: Zeroizing<[u8; 32]>,
}

const PARAMS_V1: &[u8] = b"tee-mock/seal-key/v1";

impl SealingKeySource for MockKeySource {
    fn platform(&self) -> Platform {
        Platform::Mock
    }

    fn key_params(&self, _binding: SealBinding) -> Result<Vec<u8>> {
        Ok(PARAMS_V1.to_vec())
    }

    fn derive_key(&self, binding: SealBinding, key_params: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        if key_params != PARAMS_V1 {
            return Err(Error::bad_field(
                "sealed blob",
                "key_params",
                "unknown mock key parameters",
            ));
        }
        let mixed: &[u8] = match binding {
            SealBinding::Measurement => &self.measurement,
            SealBinding::Family => b"tee-mock family",
            SealBinding::Instance => b"",
            _ => {
                return Err(Error::unsupported(
                    Platform::Mock,
                    tee_core::Operation::Sealing,
                    "unknown seal binding",
                ));
            }
        };
        let hk = Hkdf::<Sha384>::new(Some(PARAMS_V1), self.instance_secret.as_ref());
        let mut key = Zeroizing::new([0u8; 32]);
        hk.expand_multi_info(&[b"seal", mixed], key.as_mut())
            .map_err(|_| Error::Misuse("HKDF output length".into()))?;
        Ok(key)
    }
}
