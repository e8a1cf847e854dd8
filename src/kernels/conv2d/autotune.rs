//! Autotuning: the conv2d lowering (and, for the GEMM lowerings, the GEMM kernel)
//! chosen by timing every candidate on the device, once per shape and adapter, and
//! remembered on disk.
//!
//! On the first call of a shape (its geometry, bias, epilogue and the GEMM policy)
//! with [`Autotune::On`], the work recorded so far is submitted, then the hand rule's
//! choice ([`super::choose`]) and every other lowering that computes the shape run on
//! the call's own buffers: a warm-up run each (pipelines compile), then the fastest of
//! 3 to 10 timed runs (GPU timestamps on a GPU that has them, wall time of submit and
//! wait otherwise) for the candidates whose warm-up stayed within [`GIVE_UP`] times the
//! best so far. The fastest is kept (the hand rule's unless another beats it by 5%),
//! for the process and in the cache file, under a key of the adapter (backend, name,
//! driver and its version) and the crate version: a cache written by another driver
//! or release is not read, an entry that no longer names a candidate of its shape is
//! tuned again, and a file that does not parse is replaced. [`Autotune::Refresh`]
//! tunes every shape again once per process. Every lowering meets the same tolerance,
//! so tuning changes speed, not results beyond it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::direct::DirectKernel;
use super::{ConvIo, Lowering, packed, winograd};
use crate::device::{Device, GpuHandle};
use crate::error::{Error, Result};
use crate::kernels::{GemmVariant, Policy};
use crate::op::conv2d::{Conv2dGeometry, PaddingMode};

/// Whether conv2d lowerings are chosen by timing them (per device:
/// `DeviceOptions::default().with(Lowerings { autotune: Some(..), .. })`, else
/// `WGCNN_AUTOTUNE`, else off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Autotune {
    /// The hand rules of [`crate::Conv2dAlgo::Auto`].
    #[default]
    Off,
    /// Time the candidates of each new shape once, and remember the fastest on disk.
    On,
    /// As `On`, but tune every shape again (once per process), ignoring the cache.
    Refresh,
}

impl Autotune {
    /// Parses `off`, `on` or `refresh`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for another value.
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "off" => Ok(Self::Off),
            "on" => Ok(Self::On),
            "refresh" => Ok(Self::Refresh),
            other => Err(Error::param(
                "autotune",
                format!("WGCNN_AUTOTUNE must be off, on or refresh, not '{other}'"),
            )),
        }
    }
}

/// Where the autotune cache lives, for one device (tests, or a cache of one's own):
/// `DeviceOptions::default().with(AutotuneCache(dir))`. Without it: `WGCNN_CACHE_DIR`,
/// else the platform's cache folder (`$XDG_CACHE_HOME` or `~/.cache` on Linux,
/// `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows), under `wgcnn/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutotuneCache(pub PathBuf);

/// What autotuning has done in this process.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AutotuneStats {
    /// Shapes timed.
    pub tuned: u64,
    /// Shapes whose choice came from the cache file.
    pub from_cache: u64,
    /// Wall time spent timing, in milliseconds.
    pub tuning_ms: f64,
}

/// A candidate whose warm-up takes longer than this many times the best so far is not
/// timed further.
const GIVE_UP: f64 = 3.0;

/// Another lowering replaces the hand rule's only when its time is below this share of
/// the hand rule's.
const MARGIN: f64 = 0.95;
/// Runs of the hand rule's choice and the fastest candidate, in alternation, that
/// confirm the candidate before it replaces the hand rule.
const DUEL_PAIRS: usize = 5;

/// Each candidate runs at least 3 times and until this many milliseconds (10 runs at
/// most); its fastest run counts.
const RUN_TIME_MS: f64 = 30.0;

/// The cache file's format tag and version.
const FORMAT: &str = "wgcnn-autotune";
const VERSION: u64 = 1;

/// The choices known to this process, per cache file and adapter key.
struct Tables {
    /// cache file -> (its contents as read or written, shapes tuned this process)
    files: HashMap<PathBuf, (Map<String, Value>, Vec<String>)>,
    stats: AutotuneStats,
}

static TABLES: Mutex<Option<Tables>> = Mutex::new(None);

fn with_tables<T>(f: impl FnOnce(&mut Tables) -> T) -> T {
    let mut guard = TABLES.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(|| Tables {
        files: HashMap::new(),
        stats: AutotuneStats::default(),
    }))
}

/// What autotuning has done in this process so far.
pub fn stats() -> AutotuneStats {
    with_tables(|t| t.stats)
}

/// A lowering and the GEMM kernel it runs with.
pub(crate) type Choice = (Lowering, GemmVariant);

/// The lowering (and GEMM) for `g` on `gpu`: from this process's table, the cache
/// file, or timing the candidates on `io`'s buffers.
///
/// # Errors
/// Device errors while timing.
pub(crate) fn choose(
    device: &Device,
    gpu: &GpuHandle,
    io: &ConvIo<'_>,
    g: &Conv2dGeometry,
    policy: &Policy,
    col_budget: Option<u64>,
) -> Result<Choice> {
    let mut candidates = candidates(gpu, g, policy);
    let hand = super::choose(gpu, g, super::Conv2dAlgo::Auto, policy);
    // the hand rule's choice is always a candidate, so that a choice kept is found
    if !candidates.contains(&hand) {
        candidates.push(hand);
    }
    if candidates.len() < 2 {
        return Ok(hand);
    }
    let file = cache_file(gpu);
    let adapter = adapter_key(gpu);
    let shape = shape_key(g, io, policy);
    let refresh = policy.autotune == Autotune::Refresh;
    let known = with_tables(|t| {
        let (table, tuned) = t
            .files
            .entry(file.clone())
            .or_insert_with(|| (read_cache(&file), Vec::new()));
        let key = format!("{adapter}|{shape}");
        if refresh && !tuned.contains(&key) {
            return None;
        }
        let name = table.get(&adapter)?.get(&shape)?.as_str()?;
        let choice = candidates.iter().copied().find(|c| name_of(*c) == name)?;
        if !tuned.contains(&key) {
            t.stats.from_cache += 1;
        }
        Some(choice)
    });
    if let Some(choice) = known {
        return Ok(choice);
    }
    let start = Instant::now();
    let best = time_candidates(device, gpu, io, g, hand, &candidates, col_budget)?;
    let spent = start.elapsed().as_secs_f64() * 1e3;
    with_tables(|t| {
        t.stats.tuned += 1;
        t.stats.tuning_ms += spent;
        let (table, tuned) = t.files.entry(file.clone()).or_default();
        let entry = table
            .entry(adapter.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(shapes) = entry {
            shapes.insert(shape.clone(), Value::String(name_of(best).to_string()));
        }
        tuned.push(format!("{adapter}|{shape}"));
        // a cache that cannot be written costs the next process a tuning, nothing more
        write_cache(&file, table).ok();
    });
    Ok(best)
}

/// Every lowering (and GEMM kernel, for the GEMM lowerings) that computes `g`.
fn candidates(gpu: &GpuHandle, g: &Conv2dGeometry, policy: &Policy) -> Vec<Choice> {
    let mut gemms = vec![GemmVariant::Tiled, GemmVariant::Register];
    if crate::kernels::gemm::subgroup_gemm(gpu) {
        gemms.push(GemmVariant::Subgroup);
    }
    let mut out = Vec::new();
    let pointwise = g.is_pointwise() && g.mode == PaddingMode::Zeros;
    for gemm in gemms {
        out.push((
            if pointwise {
                Lowering::Pointwise
            } else {
                Lowering::Im2col
            },
            gemm,
        ));
    }
    out.push((Lowering::Direct(DirectKernel::for_direct(g)), policy.gemm));
    out.push((Lowering::Direct(DirectKernel::Implicit), policy.gemm));
    if packed::fits(gpu) {
        out.push((Lowering::Packed, policy.gemm));
    }
    if winograd::applies(g, gpu) {
        out.push((Lowering::Winograd, policy.gemm));
    }
    let mut unique: Vec<Choice> = Vec::new();
    for c in out {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    unique
}

/// The name a choice is cached under.
fn name_of((lowering, gemm): Choice) -> &'static str {
    match (lowering, gemm) {
        (Lowering::Pointwise, GemmVariant::Tiled) => "pointwise-tiled",
        (Lowering::Pointwise, GemmVariant::Register) => "pointwise-register",
        (Lowering::Pointwise, GemmVariant::Subgroup) => "pointwise-subgroup",
        (Lowering::Im2col, GemmVariant::Tiled) => "im2col-tiled",
        (Lowering::Im2col, GemmVariant::Register) => "im2col-register",
        (Lowering::Im2col, GemmVariant::Subgroup) => "im2col-subgroup",
        (Lowering::Direct(DirectKernel::Implicit), _) => "implicit",
        (Lowering::Direct(_), _) => "direct",
        (Lowering::Packed, _) => "packed",
        (Lowering::Winograd, _) => "winograd",
    }
}

/// Times every candidate on `io` and returns the fastest: the hand rule's choice
/// unless another is faster by more than [`MARGIN`] (so that noise never trades it for
/// an equal).
fn time_candidates(
    device: &Device,
    gpu: &GpuHandle,
    io: &ConvIo<'_>,
    g: &Conv2dGeometry,
    hand: Choice,
    candidates: &[Choice],
    col_budget: Option<u64>,
) -> Result<Choice> {
    // what was recorded before (the inputs of this call among it) runs first, untimed
    gpu.flush()?;
    gpu.wait()?;
    let order = std::iter::once(hand).chain(candidates.iter().copied().filter(|&c| c != hand));
    let timed = |choice: Choice| time(gpu, &|| super::run(device, gpu, io, g, choice, col_budget));
    let mut times: Vec<(Choice, f64)> = Vec::new();
    for choice in order {
        // the warm-up compiles the pipelines
        let warm = timed(choice)?;
        let best = times.iter().map(|t| t.1).fold(f64::INFINITY, f64::min);
        if warm > GIVE_UP * best {
            continue;
        }
        // the fastest of at least 3 runs and RUN_TIME_MS of them (at most 10)
        let (mut fastest, mut spent, mut runs) = (f64::INFINITY, 0.0, 0);
        while runs < 3 || (spent < RUN_TIME_MS && runs < 10) {
            let ms = timed(choice)?;
            fastest = fastest.min(ms);
            spent += ms;
            runs += 1;
        }
        times.push((choice, fastest));
    }
    let hand_ms = times[0].1;
    let (best, best_ms) = times
        .iter()
        .copied()
        .fold(times[0], |a, b| if b.1 < a.1 { b } else { a });
    if best == hand || best_ms >= MARGIN * hand_ms {
        return Ok(hand);
    }
    // the two again in alternation, so that a burst of the machine's noise during the
    // hand rule's runs cannot hand the shape to a slower candidate: it falls on both
    let (mut hand_ms, mut best_ms) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..DUEL_PAIRS {
        hand_ms = hand_ms.min(timed(hand)?);
        best_ms = best_ms.min(timed(best)?);
    }
    Ok(if best_ms < MARGIN * hand_ms {
        best
    } else {
        hand
    })
}

/// Milliseconds `record` takes: GPU time of its passes where the adapter has
/// timestamps and is a GPU, else the wall time of its submit and wait (on CPU drivers
/// the timestamps do not measure what a caller waits for: lavapipe reports 8.0 ms for
/// mnist_conv1's 3.8 ms).
fn time(gpu: &GpuHandle, record: &impl Fn() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    if !gpu.is_software() && gpu.begin_timing()? {
        record()?;
        if let Some(ms) = gpu.end_timing()? {
            return Ok(ms);
        }
    } else {
        record()?;
        gpu.flush()?;
        gpu.wait()?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e3)
}

/// The adapter and release a cached choice holds for.
fn adapter_key(gpu: &GpuHandle) -> String {
    let info = &gpu.info;
    format!(
        "{} | {} | {} {} | wgcnn {}",
        gpu.backend.name(),
        info.name,
        info.driver,
        info.driver_info,
        env!("CARGO_PKG_VERSION")
    )
}

/// The shape of a call, as far as the speed of its lowerings goes.
fn shape_key(g: &Conv2dGeometry, io: &ConvIo<'_>, policy: &Policy) -> String {
    format!(
        "n{} c{} {}x{} -> {} g{} k{}x{} s{}x{} d{}x{} p{:?} {:?} flags{} {:?} gemm:{:?}",
        g.n,
        g.c_in,
        g.h,
        g.w,
        g.c_out,
        g.groups,
        g.kh,
        g.kw,
        g.stride[0],
        g.stride[1],
        g.dilation[0],
        g.dilation[1],
        g.pad,
        g.mode,
        io.flags,
        io.epilogue,
        policy.gemm
    )
}

/// The cache file of `gpu`'s device.
fn cache_file(gpu: &GpuHandle) -> PathBuf {
    let dir = match gpu.extension::<AutotuneCache>() {
        Some(AutotuneCache(dir)) => dir.clone(),
        None => default_cache_dir(),
    };
    dir.join("autotune.json")
}

fn default_cache_dir() -> PathBuf {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("WGCNN_CACHE_DIR") {
        return dir;
    }
    let base = if cfg!(windows) {
        var("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        var("HOME").map(|h| h.join("Library/Caches"))
    } else {
        var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache")))
    };
    base.unwrap_or_else(std::env::temp_dir).join("wgcnn")
}

/// The adapters' tables of a cache file: empty when it is missing, does not parse, or
/// is of another format or version.
fn read_cache(file: &Path) -> Map<String, Value> {
    let Ok(bytes) = std::fs::read(file) else {
        return Map::new();
    };
    let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(&bytes) else {
        return Map::new();
    };
    if doc.get("format") != Some(&json!(FORMAT)) || doc.get("version") != Some(&json!(VERSION)) {
        return Map::new();
    }
    match doc.remove("adapters") {
        Some(Value::Object(adapters)) => adapters,
        _ => Map::new(),
    }
}

/// Writes the cache file whole, through a temporary file renamed over it.
fn write_cache(file: &Path, adapters: &Map<String, Value>) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let doc = json!({ "format": FORMAT, "version": VERSION, "adapters": adapters });
    let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
    let tmp = file.with_extension(format!("json.{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, file)
}
