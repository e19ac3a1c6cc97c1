//! The fuzzing campaign as a fork server: the same cases as `tests/cimc/fuzz.rs`
//! ([`crate::fuzz_cases`]), run through the tools' own code (`cimc`'s, `cim-opt`'s
//! and `cim-translate`'s `main.rs`, compiled into this binary) in a child forked
//! from this process, where one MLIR context per worker is already made. A process
//! per case pays for loading the binary and registering MLIR's dialects (about 50
//! ms); a fork shares them copy-on-write, which makes the long run of a million
//! cases fit in about an hour on two cores. The child is still a process: the same
//! limits (8 GiB of address space, 20 s), and a crash, an abort or damage to the
//! heap ends the child, not the run. The oracle is the process runner's: exit
//! status 0, 1 or 2 and a message of a few lines saying `error:`; a panic (caught,
//! on any thread), a signal or the time limit is a finding, saved to
//! `target/fuzz-findings/in-process-SEED-INDEX/`.
//!
//! CI runs `CIM_FUZZ_IN_PROCESS_CASES` cases (300 by default; from case
//! `CIM_FUZZ_FIRST` on, 0 by default). The long run:
//!
//! ```sh
//! CIM_FUZZ_IN_PROCESS_CASES=1000000 CIM_FUZZ_SEED=1 cargo test --release --test api fuzz_in_process -- --nocapture
//! ```

use crate::fuzz_cases::{Case, Outcome, Table, classify, env_number, make_case, save_finding};
use crate::{cim_opt_tool, cim_translate_tool, cimc_tool};
use cim_ir::CimContext;
use clap::Parser;
use std::{
    cell::{Cell, RefCell},
    panic::AssertUnwindSafe,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::Instant,
};

/// Virtual memory a case may use, bytes (the process runner's `ulimit -v`).
const MEMORY_LIMIT: u64 = 8 << 30;

thread_local! {
    /// Whether this thread runs cases, in a child (its panics are findings, not
    /// failures of the campaign itself).
    static RUNS_CASES: Cell<bool> = const { Cell::new(false) };
    /// The message of the last panic on this thread, while it runs cases.
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn new_context() -> CimContext {
    CimContext::new().expect("the cim dialect loads")
}

/// Runs `case` (its files written in `dir`) through the tool's code, in `cim`, on this thread: its
/// exit status and what it wrote on stderr (a panic becomes status 3 and the
/// guard's "internal error" line).
fn run_here(case: &Case, dir: &Path, cim: &CimContext) -> (u8, String) {
    RUNS_CASES.with(|runs| runs.set(true));
    let arguments: Vec<String> = std::iter::once(case.tool.to_owned())
        .chain(case.arguments_in(dir))
        .collect();
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = std::panic::catch_unwind(AssertUnwindSafe(|| match case.tool {
        "cimc" => match cimc_tool::Cli::try_parse_from(&arguments) {
            Err(error) => command_line_refused(&error, &mut err),
            Ok(cli) => match cimc_tool::run(cli.command, cim, &mut out) {
                Ok(()) => 0,
                Err(error) => {
                    err.extend(format!("cimc: error: {error}\n").bytes());
                    cimc_tool::exit_code(&error)
                }
            },
        },
        "cim-opt" => cim_opt_tool::cim_opt(&arguments, Some(cim), &mut out, &mut err),
        "cim-translate" => match cim_translate_tool::Cli::try_parse_from(&arguments) {
            Err(error) => command_line_refused(&error, &mut err),
            Ok(cli) => cim_translate_tool::cim_translate(&cli, Some(cim), &mut out, &mut err),
        },
        other => panic!("no in-process runner for {other}"),
    }));
    let mut stderr = String::from_utf8_lossy(&err).into_owned();
    match code {
        Ok(code) => (code, stderr),
        Err(payload) => {
            let message = PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| {
                payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default()
            });
            stderr.push_str(&format!("internal error: panicked at {message}\n"));
            (3, stderr)
        }
    }
}

/// What a tool does with a command line clap refuses (or a --help): its text on
/// stderr, and exit status 2 (0 for --help and --version).
fn command_line_refused(error: &clap::Error, err: &mut Vec<u8>) -> u8 {
    err.extend(error.render().to_string().bytes());
    if error.use_stderr() { 2 } else { 0 }
}

/// Bytes of stderr a case reports: enough to judge a message (a clear one is far
/// shorter).
const REPORTED_STDERR: usize = 8192;

/// Cases one forked child runs in turn (a fork costs about as much as a refused
/// case; a batch shares it).
const CASES_PER_CHILD: usize = 32;

/// A case ready to run: its index in the campaign, the case, where it runs.
struct Job {
    index: u64,
    case: Case,
    dir: PathBuf,
}

/// Runs `jobs` in children forked from this process (a fork server: the context
/// and all that is loaded are shared copy-on-write, nothing is re-initialised),
/// a batch per child, under the process runner's limits (address space, time per
/// case): each job's outcome and stderr. A child that dies ends its batch; the case
/// it died in runs again alone, so that a crash is charged to the case that
/// causes it (and not to heap damage an earlier case left), and the rest go on
/// in a new child.
fn run_jobs(jobs: &[Job], cim: &CimContext) -> Vec<(Outcome, String)> {
    let mut results = Vec::new();
    while results.len() < jobs.len() {
        let rest = &jobs[results.len()..];
        let batch = &rest[..rest.len().min(CASES_PER_CHILD)];
        let (mut done, ended) = run_child(batch, cim);
        let finished = done.len();
        results.append(&mut done);
        match ended {
            ChildEnd::Finished => {}
            ChildEnd::Hung => results.push((Outcome::Hang, String::new())),
            ChildEnd::Died(signal) if finished == 0 || batch.len() == 1 => {
                results.push((Outcome::Crash, format!("killed by signal {signal}")))
            }
            ChildEnd::Died(_) => {
                let alone = run_child(std::slice::from_ref(&batch[finished]), cim);
                results.push(match alone {
                    (mut one, ChildEnd::Finished) => {
                        DIED_OF_EARLIER_DAMAGE.fetch_add(1, Ordering::Relaxed);
                        one.remove(0)
                    }
                    (_, ChildEnd::Hung) => (Outcome::Hang, String::new()),
                    (_, ChildEnd::Died(signal)) => {
                        (Outcome::Crash, format!("killed by signal {signal}"))
                    }
                });
            }
        }
    }
    results
}

/// Children that died in a case which then ran clean alone: an earlier case of
/// the batch damaged the heap without a sign (MLIR's parser frees memory it still
/// uses on some invalid input; a process per case exits before it matters).
static DIED_OF_EARLIER_DAMAGE: AtomicU64 = AtomicU64::new(0);

/// The context handed to the child's pool thread: `install` blocks this thread
/// until that one is done, so the context is never used by two threads at once.
struct Handoff<'a>(&'a CimContext);
// SAFETY: see above; an MLIR context is not tied to the thread that made it.
unsafe impl Sync for Handoff<'_> {}

impl Handoff<'_> {
    fn context(&self) -> &CimContext {
        self.0
    }
}

/// How a child's batch ended.
enum ChildEnd {
    /// Every case reported.
    Finished,
    /// A case went over the time limit; the child was killed.
    Hung,
    /// The child died by this signal in the case after the last it reported.
    Died(i32),
}

/// Runs `batch` in one forked child: the outcomes of the cases it reported.
fn run_child(batch: &[Job], cim: &CimContext) -> (Vec<(Outcome, String)>, ChildEnd) {
    let mut pipe = [0; 2];
    // SAFETY: plain POSIX calls on descriptors and a process this function owns.
    // The child runs only these cases' code on its one thread, reports each on
    // the pipe and leaves by _exit.
    unsafe {
        assert_eq!(libc::pipe(pipe.as_mut_ptr()), 0, "pipe");
        let pid = libc::fork();
        assert!(pid >= 0, "fork");
        if pid == 0 {
            libc::close(pipe[0]);
            let limit = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
            // The parent's rayon pool (another test may have started it) has no
            // threads in a fork: the child's parallel work gets a pool of its own.
            let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(1).build() else {
                libc::_exit(1);
            };
            for job in batch {
                // Relative paths of a case land in its directory, as a process's do.
                job.case.write_files(&job.dir);
                if std::env::set_current_dir(&job.dir).is_err() {
                    libc::_exit(1);
                }
                let handoff = Handoff(cim);
                let (code, stderr) =
                    pool.install(|| run_here(&job.case, &job.dir, handoff.context()));
                let text: Vec<u8> = stderr.bytes().take(REPORTED_STDERR).collect();
                let mut record = vec![code];
                record.extend((text.len() as u32).to_le_bytes());
                record.extend(text);
                let mut written = 0;
                while written < record.len() {
                    let n = libc::write(
                        pipe[1],
                        record[written..].as_ptr().cast(),
                        record.len() - written,
                    );
                    if n <= 0 {
                        libc::_exit(1);
                    }
                    written += n as usize;
                }
            }
            libc::_exit(0);
        }
        libc::close(pipe[1]);
        let mut results = Vec::new();
        let mut bytes = Vec::new();
        let mut last = Instant::now();
        let mut hung = false;
        loop {
            let mut poll = libc::pollfd {
                fd: pipe[0],
                events: libc::POLLIN,
                revents: 0,
            };
            if libc::poll(&mut poll, 1, 100) > 0 {
                let mut chunk = [0u8; 65536];
                let n = libc::read(pipe[0], chunk.as_mut_ptr().cast(), chunk.len());
                if n <= 0 {
                    break;
                }
                bytes.extend_from_slice(&chunk[..n as usize]);
                while bytes.len() >= 5 {
                    let length = u32::from_le_bytes(bytes[1..5].try_into().unwrap()) as usize;
                    if bytes.len() < 5 + length {
                        break;
                    }
                    let stderr = String::from_utf8_lossy(&bytes[5..5 + length]).into_owned();
                    results.push((classify(Some(i32::from(bytes[0])), &stderr), stderr));
                    bytes.drain(..5 + length);
                    last = Instant::now();
                }
            } else if last.elapsed() > crate::fuzz_cases::TIME_LIMIT {
                libc::kill(pid, libc::SIGKILL);
                hung = true;
                break;
            }
        }
        libc::close(pipe[0]);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        let end = if hung {
            ChildEnd::Hung
        } else if results.len() == batch.len() {
            ChildEnd::Finished
        } else if libc::WIFSIGNALED(status) {
            ChildEnd::Died(libc::WTERMSIG(status))
        } else {
            ChildEnd::Died(0)
        };
        (results, end)
    }
}

/// The job of `case`, with its set-up (`@compile MODEL`) done first when needed:
/// `setups` holds the set-ups this worker has done (an artifact is compiled once
/// per worker and model, in `work/setup-N`).
fn job(index: u64, case: Case, work: &Path, cim: &CimContext, setups: &mut Vec<String>) -> Job {
    let Some((setup, rest)) = case.split_setup() else {
        return Job {
            index,
            case,
            dir: work.join(format!("case-{}", index % CASES_PER_CHILD as u64)),
        };
    };
    let key = setup.arguments.join(" ");
    let at = match setups.iter().position(|k| *k == key) {
        Some(at) => at,
        None => {
            let setup = Job {
                index,
                case: setup,
                dir: work.join(format!("setup-{}", setups.len())),
            };
            let (outcome, stderr) = run_jobs(std::slice::from_ref(&setup), cim).remove(0);
            assert_eq!(outcome, Outcome::Accepted, "set-up failed: {stderr}");
            setups.push(key);
            setups.len() - 1
        }
    };
    Job {
        index,
        case: rest,
        dir: work.join(format!("setup-{at}")),
    }
}

/// What one worker found.
struct Findings {
    table: Table,
    failures: Vec<String>,
}

/// Worker `worker` of `workers` runs cases `first + worker`, `first + worker +
/// workers`, ... below `cases` of campaign `seed`; `done` counts the cases run by all.
fn worker(
    seed: u64,
    first: u64,
    cases: u64,
    worker: u64,
    workers: u64,
    base: &Path,
    done: &AtomicU64,
) -> Findings {
    let work = base.join(format!("worker-{worker}"));
    let mut findings = Findings {
        table: Table::default(),
        failures: Vec::new(),
    };
    // Each case runs in a child, which leaves this context as it found it.
    let cim = new_context();
    let mut setups = Vec::new();
    let mut index = first + worker;
    while index < cases {
        let mut jobs = Vec::new();
        while index < cases && jobs.len() < CASES_PER_CHILD {
            jobs.push(job(index, make_case(seed, index), &work, &cim, &mut setups));
            index += workers;
        }
        for (job, (outcome, stderr)) in jobs.iter().zip(run_jobs(&jobs, &cim)) {
            findings.table.add(job.case.family, outcome);
            if outcome.failed() {
                let name = format!("in-process-{seed}-{}", job.index);
                let saved = save_finding(&job.case, &name, &stderr);
                findings.failures.push(format!(
                    "{outcome:?} ({}): {} -- {}",
                    job.case.family,
                    saved.display(),
                    stderr.lines().last().unwrap_or("")
                ));
            }
            let total = done.fetch_add(1, Ordering::Relaxed) + 1;
            if total.is_multiple_of(10_000) {
                eprintln!("fuzz in process: {total}/{cases} cases");
            }
        }
    }
    findings
}

/// The in-process campaign: no case panics or hangs. It serves its forks from a
/// process of its own: a thread pool another test of this binary started
/// (matrixmultiply's is global and made once) has no threads in a fork, and a
/// child's product would wait on it forever; there, products run on the child's
/// one thread (`MATMUL_NUM_THREADS=1`).
#[test]
fn fuzz_in_process_finds_no_panic() {
    const SERVER: &str = "CIM_FUZZ_SERVER";
    if std::env::var_os(SERVER).is_none() {
        let name = "fuzz_in_process::fuzz_in_process_finds_no_panic";
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture", "--test-threads", "1"])
            .env(SERVER, "1")
            .env("MATMUL_NUM_THREADS", "1")
            .output()
            .expect("the test binary runs again");
        print!("{}", String::from_utf8_lossy(&output.stdout));
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "the campaign's process failed");
        return;
    }
    let cases = env_number("CIM_FUZZ_IN_PROCESS_CASES", 300);
    let seed = env_number("CIM_FUZZ_SEED", 20261201);
    // Replaying from a case on (the one an abort names, say).
    let first = env_number("CIM_FUZZ_FIRST", 0);
    let workers = env_number(
        "CIM_FUZZ_THREADS",
        std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
    )
    .clamp(1, 64);
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-in-process");
    let _ = std::fs::remove_dir_all(&base);
    for w in 0..workers {
        std::fs::create_dir_all(base.join(format!("worker-{w}"))).unwrap();
    }
    // A panic while a case runs is recorded for its finding, not printed.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !RUNS_CASES.with(Cell::get) {
            return previous(info);
        }
        PANIC.with(|p| {
            *p.borrow_mut() = Some(format!(
                "{} ({})",
                info.payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default(),
                info.location().map(|l| l.to_string()).unwrap_or_default()
            ))
        });
    }));
    let done = AtomicU64::new(0);
    let start = Instant::now();
    let findings: Vec<Findings> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (base, done) = (&base, &done);
                std::thread::Builder::new()
                    // A tool's main thread has 8 MiB.
                    .stack_size(8 << 20)
                    .spawn_scoped(scope, move || {
                        worker(seed, first, cases, w, workers, base, done)
                    })
                    .unwrap()
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let _ = std::panic::take_hook();
    let mut table = Table::default();
    let mut failures = Vec::new();
    for found in findings {
        table.merge(found.table);
        failures.extend(found.failures);
    }
    println!(
        "fuzz campaign in process, seed {seed}, {cases} cases on {workers} threads in {:.0} s:",
        start.elapsed().as_secs_f64()
    );
    print!("{}", table.markdown());
    println!(
        "children that died of an earlier case's heap damage (their case then ran clean alone): {}",
        DIED_OF_EARLIER_DAMAGE.load(Ordering::Relaxed)
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
