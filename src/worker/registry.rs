//! Shared memory: one slot per database the worker knows, written by expiry workers and by
//! sessions that announce deadlines, read by the launcher and `inventory.worker_status()`.
//!
//! A slot's `wake_at` is when that database next needs a sweep. An expiry worker that is
//! running sleeps until then itself; a parked one (pid 0) relies on the launcher to start it
//! again then. A session that writes a sooner deadline lowers `wake_at` and sets the latch
//! of whichever process waits for it.

use std::sync::atomic::{AtomicBool, Ordering};

use pgrx::lwlock::PgLwLock;
use pgrx::pg_guard; // used by pg_shmem_init!
use pgrx::pg_sys;
use pgrx::shmem::PGRXSharedMemory;

/// Databases the worker can serve at once.
pub(crate) const MAX_DATABASES: usize = 64;
const ERROR_BYTES: usize = 256;
/// `wake_at` while a pass runs: announcements are collected, nobody needs waking.
const AWAKE: i64 = i64::MIN;

#[derive(Clone, Copy)]
pub(crate) struct Slot {
    pub db: pg_sys::Oid,
    /// The running expiry worker, 0 when parked.
    pub pid: i32,
    pub started_at: i64,
    pub last_run_at: i64,
    pub last_expired: i64,
    pub total_expired: i64,
    pub wake_at: i64,
    /// Earliest deadline announced since the current pass began.
    announced: i64,
    pub error_at: i64,
    error_len: usize,
    error: [u8; ERROR_BYTES],
}

impl Slot {
    const EMPTY: Slot = Slot {
        db: pg_sys::InvalidOid,
        pid: 0,
        started_at: 0,
        last_run_at: 0,
        last_expired: 0,
        total_expired: 0,
        wake_at: 0,
        announced: i64::MAX,
        error_at: 0,
        error_len: 0,
        error: [0; ERROR_BYTES],
    };

    pub(crate) fn last_error(&self) -> Option<String> {
        (self.error_len > 0).then(|| String::from_utf8_lossy(&self.error[..self.error_len]).into_owned())
    }

    pub(crate) fn running(&self) -> bool {
        self.pid != 0 && process_alive(self.pid)
    }

    /// A live worker other than `pid` has this slot.
    fn held_by_another(&self, pid: i32) -> bool {
        self.pid != pid && self.running()
    }

    /// When the next pass is planned, if one is (not while a pass runs).
    pub(crate) fn next_wake(&self) -> Option<i64> {
        (self.wake_at != AWAKE).then_some(self.wake_at)
    }
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[derive(Clone, Copy)]
pub(crate) struct Registry {
    launcher_pid: i32,
    slots: [Slot; MAX_DATABASES],
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            launcher_pid: 0,
            slots: [Slot::EMPTY; MAX_DATABASES],
        }
    }
}

// SAFETY: plain old data, no pointers.
unsafe impl PGRXSharedMemory for Registry {}

impl Registry {
    fn find(&self, db: pg_sys::Oid) -> Option<&Slot> {
        self.slots.iter().find(|s| s.db == db)
    }

    fn find_mut(&mut self, db: pg_sys::Oid) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.db == db)
    }

    /// The slot of `db`, taking a free one if it has none.
    fn find_or_add(&mut self, db: pg_sys::Oid) -> Option<&mut Slot> {
        let i = self
            .slots
            .iter()
            .position(|s| s.db == db)
            .or_else(|| self.slots.iter().position(|s| s.db == pg_sys::InvalidOid))?;
        if self.slots[i].db != db {
            self.slots[i] = Slot { db, ..Slot::EMPTY };
        }
        Some(&mut self.slots[i])
    }
}

static REGISTRY: PgLwLock<Registry> = unsafe { PgLwLock::new(c"inventory_reservation_registry") };

/// True in the postmaster and every process forked from it once the library was preloaded.
static PRELOADED: AtomicBool = AtomicBool::new(false);

pub(crate) fn init() {
    pgrx::pg_shmem_init!(REGISTRY);
    PRELOADED.store(true, Ordering::Relaxed);
}

pub(crate) fn preloaded() -> bool {
    PRELOADED.load(Ordering::Relaxed)
}

fn set_latch_of(pid: i32) {
    if pid == 0 {
        return;
    }
    // SAFETY: BackendPidGetProc returns the live PGPROC of pid or NULL; latches live in
    // shared memory and may be set by any process.
    unsafe {
        let proc = pg_sys::BackendPidGetProc(pid);
        if !proc.is_null() {
            pg_sys::SetLatch(&mut (*proc).procLatch);
        }
    }
}

// --- the launcher -----------------------------------------------------------------------

pub(crate) fn set_launcher(pid: i32) {
    REGISTRY.exclusive().launcher_pid = pid;
}

pub(crate) fn launcher_pid() -> Option<i32> {
    preloaded()
        .then(|| REGISTRY.share().launcher_pid)
        .filter(|p| *p != 0 && process_alive(*p))
}

/// What the launcher knows of a database.
pub(crate) enum Known {
    /// No slot: never seen, or its extension was dropped.
    Unknown,
    Running,
    /// No worker running; the next pass is due at this time.
    Parked(i64),
}

pub(crate) fn known(db: pg_sys::Oid) -> Known {
    match REGISTRY.share().find(db) {
        None => Known::Unknown,
        Some(s) if s.running() => Known::Running,
        Some(s) => Known::Parked(s.next_wake().unwrap_or(0)),
    }
}

/// Slots of databases that no longer exist are freed.
pub(crate) fn forget_except(existing: &[pg_sys::Oid]) {
    let mut r = REGISTRY.exclusive();
    for s in r.slots.iter_mut() {
        if s.db != pg_sys::InvalidOid && !existing.contains(&s.db) && !s.running() {
            *s = Slot::EMPTY;
        }
    }
}

// --- expiry workers -----------------------------------------------------------------------

/// Take the slot of `db` for the calling worker; false when another live worker has it or
/// every slot is taken.
pub(crate) fn claim(db: pg_sys::Oid, pid: i32, now: i64) -> bool {
    let mut r = REGISTRY.exclusive();
    let Some(slot) = r.find_or_add(db) else {
        return false;
    };
    if slot.held_by_another(pid) {
        return false;
    }
    slot.pid = pid;
    slot.started_at = now;
    slot.wake_at = AWAKE;
    true
}

/// The worker of `db` stops (from its exit callback): the slot is parked. A worker that
/// dies in the middle of a pass is retried `retry_at`.
pub(crate) fn park(db: pg_sys::Oid, pid: i32, retry_at: i64) {
    let mut r = REGISTRY.exclusive();
    if let Some(s) = r.find_mut(db).filter(|s| s.pid == pid) {
        s.pid = 0;
        if s.wake_at == AWAKE {
            s.wake_at = retry_at;
        }
    }
}

/// A worker found no extension in `db`: forget the database until it is created again (the
/// launcher then only probes it now and then). Unless a session announced a deadline there since
/// the last pass began: the worker may have looked before that session's CREATE EXTENSION
/// committed, so the database is kept, due again at `retry_at`, and the announcement is spent:
/// without a new one, the next worker that finds no extension forgets it. A slot that another
/// live worker holds is left alone: that worker is in a pass and decides for itself.
pub(crate) fn forget_unless_announced(db: pg_sys::Oid, pid: i32, retry_at: i64) {
    if let Some(s) = REGISTRY.exclusive().find_mut(db) {
        if s.held_by_another(pid) {
            return;
        }
        if s.announced == i64::MAX {
            *s = Slot::EMPTY;
        } else {
            s.announced = i64::MAX;
            s.wake_at = retry_at;
        }
    }
}

/// A pass begins: collect announcements instead of waking anyone.
pub(crate) fn begin_pass(db: pg_sys::Oid) {
    if let Some(s) = REGISTRY.exclusive().find_mut(db) {
        s.wake_at = AWAKE;
        s.announced = i64::MAX;
    }
}

/// A pass ended at `now` having expired `expired` holds; plan the next pass with
/// `plan(earliest announced deadline)` and return its time.
pub(crate) fn end_pass(db: pg_sys::Oid, now: i64, expired: i64, plan: impl FnOnce(Option<i64>) -> i64) -> i64 {
    let mut r = REGISTRY.exclusive();
    let Some(s) = r.find_mut(db) else {
        return plan(None);
    };
    s.last_run_at = now;
    s.last_expired = expired;
    s.total_expired += expired;
    s.wake_at = plan((s.announced != i64::MAX).then_some(s.announced));
    s.wake_at
}

/// The planned next pass of `db` (announcements may have lowered it).
pub(crate) fn wake_at(db: pg_sys::Oid) -> i64 {
    REGISTRY.share().find(db).map_or(0, |s| s.wake_at)
}

pub(crate) fn record_error(db: pg_sys::Oid, now: i64, message: &str) {
    if let Some(s) = REGISTRY.exclusive().find_mut(db) {
        let mut n = message.len().min(ERROR_BYTES);
        while !message.is_char_boundary(n) {
            n -= 1;
        }
        s.error[..n].copy_from_slice(&message.as_bytes()[..n]);
        s.error_len = n;
        s.error_at = now;
    }
}

// --- sessions -----------------------------------------------------------------------------

/// A copy of `db`'s slot, for the status view.
pub(crate) fn snapshot(db: pg_sys::Oid) -> Option<Slot> {
    preloaded().then(|| REGISTRY.share().find(db).copied()).flatten()
}

/// A session wrote a hold in `db` that lapses at `deadline`: make sure a pass runs by then,
/// registering the database if the worker does not know it yet. Costs one shared lock in the
/// common case (a deadline later than one already announced).
pub(crate) fn announce(db: pg_sys::Oid, deadline: i64) {
    if !preloaded() {
        return;
    }
    if REGISTRY.share().find(db).is_some_and(|s| deadline >= s.announced) {
        return;
    }
    let wake = {
        let mut r = REGISTRY.exclusive();
        let launcher = r.launcher_pid;
        let Some(s) = r.find_or_add(db) else { return };
        if deadline >= s.announced {
            return;
        }
        s.announced = deadline;
        if s.wake_at != AWAKE && (s.wake_at == 0 || deadline < s.wake_at) {
            s.wake_at = deadline;
            if s.running() { s.pid } else { launcher }
        } else {
            0
        }
    };
    set_latch_of(wake);
}
