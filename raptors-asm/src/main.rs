//! `raptors-asm`: locate, symbols, disasm, simd, loops, compare, hot-loop, mca, diff, choose, twin.
//! Text for humans, `--json` for tools (shapes in README.md). Errors go to stderr with the file and
//! reason; exit code 1.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use raptors_asm::{choose, compare, diff, disasm, hotloop, loops, mca, simd, twin, x86::Syntax};

#[derive(Parser)]
#[command(
    name = "raptors-asm",
    version,
    about = "ELF disassembler and SIMD/loop analyser for x86-64 and AArch64"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Path of an importable extension module's shared object (via importlib).
    Locate {
        module: String,
        #[arg(long, default_value = "python3")]
        python: String,
        #[arg(long)]
        json: bool,
    },
    /// Functions with address, size, name and where the bounds came from.
    Symbols {
        lib: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// objdump-like disassembly (whole file, or the functions matching --symbol).
    Disasm {
        lib: PathBuf,
        /// Regex over demangled/raw names; an exact name selects only that function. Repeatable.
        #[arg(long = "symbol")]
        symbols: Vec<String>,
        /// Intel syntax (x86 only; default AT&T like objdump).
        #[arg(long)]
        intel: bool,
        #[arg(long)]
        json: bool,
    },
    /// Instruction counts by ISA extension and category, per function and in total.
    Simd {
        lib: PathBuf,
        #[arg(long = "symbol")]
        symbols: Vec<String>,
        /// Only list functions that contain SIMD/FP instructions (the total still covers all).
        #[arg(long)]
        only_simd: bool,
        #[arg(long)]
        json: bool,
    },
    /// Loops from backward branches, their mix and the hottest innermost candidate.
    Loops {
        lib: PathBuf,
        #[arg(long = "symbol", required = true)]
        symbols: Vec<String>,
        /// Write the innermost loop bodies as llvm-mca input to this file.
        #[arg(long)]
        mca: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Two functions' hottest innermost loops side by side.
    Compare {
        lib_a: PathBuf,
        lib_b: PathBuf,
        #[arg(long)]
        symbol_a: String,
        #[arg(long)]
        symbol_b: String,
        /// Use the innermost loop of A containing this address (hex `0x…` or decimal) instead of
        /// the static hottest guess, e.g. a hot address from callgrind/perf.
        #[arg(long, value_parser = parse_addr)]
        loop_a: Option<u64>,
        #[arg(long, value_parser = parse_addr)]
        loop_b: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// The loop that runs: chosen by execution counts (--counts), else the static guess.
    HotLoop {
        lib: PathBuf,
        #[arg(long)]
        symbol: String,
        /// Per-instruction execution counts: `ADDRESS COUNT` lines or a JSON object, file
        /// virtual addresses (callgrind --dump-instr=yes, qemu exec logs, converted by the caller).
        #[arg(long)]
        counts: Option<PathBuf>,
        /// The counts are per basic-block start (qemu `-d exec`): spread over each block.
        #[arg(long, requires = "counts")]
        blocks: bool,
        /// Label for `chosen_by` (e.g. callgrind, qemu-exec, perf-sample).
        #[arg(long, default_value = "counts", requires = "counts")]
        source: String,
        /// Input elements the op processed in the run (for measured instructions/element).
        #[arg(long)]
        elements: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// llvm-mca predictions of a function's hottest loop on the fixed CPU models (+ host).
    Mca {
        lib: PathBuf,
        #[arg(long)]
        symbol: String,
        /// Predict the innermost loop containing this address instead of the static guess.
        #[arg(long = "loop", value_parser = parse_addr)]
        at: Option<u64>,
        /// Additional llvm-mca CPU names (repeatable).
        #[arg(long = "cpu")]
        cpus: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Unified diff of two functions' (or hot loops') normalised disassembly.
    Diff {
        lib_a: PathBuf,
        lib_b: PathBuf,
        #[arg(long)]
        symbol_a: String,
        #[arg(long)]
        symbol_b: String,
        /// Diff the hottest loops instead of the whole functions.
        #[arg(long = "loop")]
        hot_loop: bool,
        /// Loop of A containing this address (implies --loop).
        #[arg(long, value_parser = parse_addr)]
        loop_a: Option<u64>,
        #[arg(long, value_parser = parse_addr)]
        loop_b: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// The function that runs an operation: from what executed (--hot, --instructions), else
    /// the first --pattern that matches.
    Choose(ChooseArgs),
    /// The function of LIB that does what NAME (a function of another ISA build) does.
    Twin {
        /// The target library (its architecture is the target architecture).
        lib: PathBuf,
        #[arg(long)]
        name: String,
        /// The target CPU's level: scalar, sse2, avx2, avx512, neon, or a NumPy dispatch target
        /// (X86_V3, AVX512_SKX, ASIMD, …). Default: the best variant LIB has.
        #[arg(long)]
        level: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct ChooseArgs {
    lib: PathBuf,
    /// A function a profiler saw, `NAME=COST` or `NAME=COST@ENTRY` (runtime entry address,
    /// hex `0x…` or decimal). Repeatable.
    #[arg(long = "hot")]
    hot: Vec<String>,
    /// JSON file of executed instructions: `[[runtime_address, count], …]`.
    #[arg(long)]
    instructions: Option<PathBuf>,
    /// Runtime − file address of the library (default: estimated from --hot entries).
    #[arg(long, value_parser = parse_addr)]
    load_bias: Option<u64>,
    /// The profiler, named in the evidence (callgrind, qemu-exec, perf-sample, …).
    #[arg(long, default_value = "profile")]
    tool: String,
    /// Fallback regex over names (Rust hash removed); repeatable, tried in order.
    #[arg(long = "pattern")]
    patterns: Vec<String>,
    /// The whole request as a JSON file (`ChooseRequest`, README); replaces the flags above.
    #[arg(long, conflicts_with_all = ["hot", "instructions", "load_bias", "patterns"])]
    request: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

fn emit_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let out = std::io::stdout();
    let mut w = BufWriter::new(out.lock());
    // Compact: `simd --json` over a whole library is megabytes; pipe to `jq` to read it.
    serde_json::to_writer(&mut w, v)?;
    writeln!(w)?;
    w.flush()?;
    Ok(())
}

/// A subcommand's result on stdout: compact JSON with `--json`, else `text`'s rendering of it.
fn emit<T: serde::Serialize>(
    json: bool,
    value: &T,
    text: fn(&T, &mut String),
) -> anyhow::Result<()> {
    if json {
        return emit_json(value);
    }
    let mut s = String::new();
    text(value, &mut s);
    emit_text(&s)
}

fn emit_text(s: &str) -> anyhow::Result<()> {
    let out = std::io::stdout();
    let mut w = out.lock();
    w.write_all(s.as_bytes())?;
    w.flush()?;
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Locate {
            module,
            python,
            json,
        } => {
            let l = raptors_asm::locate::locate(&module, &python)?;
            if json {
                emit_json(&l)?;
            } else {
                println!("{}", l.path);
            }
        }
        Cmd::Symbols { lib, json } => {
            let (elf, table) = raptors_asm::open(&lib)?;
            if json {
                #[derive(serde::Serialize)]
                struct Out<'a> {
                    file: String,
                    arch: raptors_asm::Arch,
                    #[serde(flatten)]
                    table: &'a raptors_asm::SymbolTable,
                }
                emit_json(&Out {
                    file: elf.path.display().to_string(),
                    arch: elf.arch,
                    table: &table,
                })?;
            } else {
                let mut s = String::new();
                for f in &table.functions {
                    use std::fmt::Write as _;
                    let _ = writeln!(
                        s,
                        "{:016x} {:8} {:9} {}{}",
                        f.address,
                        f.size,
                        format!(
                            "{}{}",
                            simd_src(f.bounds_source),
                            if f.size_inferred { "~" } else { "" }
                        ),
                        f.name,
                        if f.section != ".text" {
                            format!("  [{}]", f.section)
                        } else {
                            String::new()
                        }
                    );
                }
                for w in &table.warnings {
                    eprintln!("warning: {}: {w}", elf.path.display());
                }
                emit_text(&s)?;
            }
        }
        Cmd::Disasm {
            lib,
            symbols,
            intel,
            json,
        } => {
            let (elf, table) = raptors_asm::open(&lib)?;
            let opts = disasm::TextOptions {
                syntax: if intel { Syntax::Intel } else { Syntax::Att },
            };
            let stdout = std::io::stdout();
            if json {
                let funcs = if symbols.is_empty() {
                    table.functions.iter().collect()
                } else {
                    table.select_all(&elf, &symbols)?
                };
                let mut items = Vec::new();
                for f in funcs {
                    let mut buf = Vec::new();
                    disasm::disassemble_functions(&elf, &table, &[f], opts, &mut buf)?;
                    let text = String::from_utf8_lossy(&buf);
                    let lines: Vec<serde_json::Value> =
                        text.lines().filter_map(parse_line).collect();
                    items.push(serde_json::json!({
                        "name": f.name, "address": f.address, "size": f.size,
                        "bounds_source": f.bounds_source, "instructions": lines,
                    }));
                }
                emit_json(&serde_json::json!({
                    "file": elf.path.display().to_string(), "arch": elf.arch, "functions": items,
                }))?;
            } else {
                let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
                if symbols.is_empty() {
                    disasm::disassemble_all(&elf, &table, opts, &mut w)?;
                } else {
                    let funcs = table.select_all(&elf, &symbols)?;
                    disasm::disassemble_functions(&elf, &table, &funcs, opts, &mut w)?;
                }
                w.flush()?;
            }
        }
        Cmd::Simd {
            lib,
            symbols,
            only_simd,
            json,
        } => {
            let (elf, table) = raptors_asm::open(&lib)?;
            let funcs = if symbols.is_empty() {
                table.functions.iter().collect()
            } else {
                table.select_all(&elf, &symbols)?
            };
            let mut r = simd::simd_report(&elf, &funcs);
            if only_simd {
                r.functions.retain(|f| f.counts.simd_instructions > 0);
            }
            emit(json, &r, simd::simd_text)?;
        }
        Cmd::Loops {
            lib,
            symbols,
            mca,
            json,
        } => {
            let (elf, table) = raptors_asm::open(&lib)?;
            let funcs = table.select_all(&elf, &symbols)?;
            let r = loops::loops_report(&elf, &table, &funcs);
            if let Some(p) = mca {
                let mut s = String::new();
                for f in &r.functions {
                    for l in f.loops.iter().filter(|l| l.innermost) {
                        s.push_str(&l.mca);
                    }
                }
                std::fs::write(&p, s)
                    .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", p.display()))?;
            }
            emit(json, &r, loops::loops_text)?;
        }
        Cmd::Compare {
            lib_a,
            lib_b,
            symbol_a,
            symbol_b,
            loop_a,
            loop_b,
            json,
        } => {
            let (ea, ta) = raptors_asm::open(&lib_a)?;
            let (eb, tb) = raptors_asm::open(&lib_b)?;
            let fa = compare::one_function(&ea, &ta, &symbol_a)?;
            let fb = compare::one_function(&eb, &tb, &symbol_b)?;
            let c = compare::Comparison::new(
                compare::side_at(&ea, &ta, fa, loop_a)?,
                compare::side_at(&eb, &tb, fb, loop_b)?,
            );
            emit(json, &c, compare::compare_text)?;
        }
        Cmd::HotLoop {
            lib,
            symbol,
            counts,
            blocks,
            source,
            elements,
            json,
        } => {
            let (elf, table) = raptors_asm::open(&lib)?;
            let f = compare::one_function(&elf, &table, &symbol)?;
            let counts = match &counts {
                Some(p) => {
                    let text = std::fs::read_to_string(p)
                        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()))?;
                    let c = hotloop::parse_counts(p, &text)?;
                    Some(if blocks {
                        hotloop::expand_block_counts(&elf, f, &c)
                    } else {
                        c
                    })
                }
                None => None,
            };
            let exec = counts.as_ref().map(|c| hotloop::ExecCounts {
                source: &source,
                counts: c,
            });
            let c = hotloop::choose_loop(&elf, &table, f, exec, elements)?;
            emit(json, &c, hotloop::choice_text)?;
        }
        Cmd::Mca {
            lib,
            symbol,
            at,
            cpus,
            json,
        } => {
            let (elf, table) = raptors_asm::open(&lib)?;
            let f = compare::one_function(&elf, &table, &symbol)?;
            let tool = mca::probe_tool()?;
            let r = mca::predict(&elf, &table, f, at, &tool, &cpus)?;
            emit(json, &r, mca::mca_text)?;
        }
        Cmd::Diff {
            lib_a,
            lib_b,
            symbol_a,
            symbol_b,
            hot_loop,
            loop_a,
            loop_b,
            json,
        } => {
            let (ea, ta) = raptors_asm::open(&lib_a)?;
            let (eb, tb) = raptors_asm::open(&lib_b)?;
            let fa = compare::one_function(&ea, &ta, &symbol_a)?;
            let fb = compare::one_function(&eb, &tb, &symbol_b)?;
            let any_loop = hot_loop || loop_a.is_some() || loop_b.is_some();
            let scope = |at| {
                if any_loop {
                    diff::Scope::Loop(at)
                } else {
                    diff::Scope::Function
                }
            };
            let d =
                diff::diff_functions((&ea, &ta, fa), (&eb, &tb, fb), scope(loop_a), scope(loop_b))?;
            emit(json, &d, diff::diff_text)?;
        }
        Cmd::Choose(a) => choose_cmd(a)?,
        Cmd::Twin {
            lib,
            name,
            level,
            json,
        } => twin_cmd(lib, name, level, json)?,
    }
    Ok(())
}

fn choose_cmd(a: ChooseArgs) -> anyhow::Result<()> {
    let ChooseArgs {
        lib,
        hot,
        instructions,
        load_bias,
        tool,
        patterns,
        request,
        json,
    } = a;
    let (elf, table) = raptors_asm::open(&lib)?;
    let read = |p: &PathBuf| -> anyhow::Result<String> {
        std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()))
    };
    let req: choose::ChooseRequest = match request {
        Some(p) => serde_json::from_str(&read(&p)?)
            .map_err(|e| anyhow::anyhow!("{}: not a choose request: {e}", p.display()))?,
        None => {
            let mut functions = Vec::new();
            for h in &hot {
                let (name, rest) = h
                    .rsplit_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--hot {h:?}: expected NAME=COST[@ENTRY]"))?;
                let (cost, entry) = match rest.split_once('@') {
                    Some((c, e)) => (c, Some(parse_addr(e).map_err(anyhow::Error::msg)?)),
                    None => (rest, None),
                };
                let cost = cost
                    .parse()
                    .map_err(|e| anyhow::anyhow!("--hot {h:?}: bad cost: {e}"))?;
                functions.push(choose::ExecutedFunction {
                    name: name.to_string(),
                    cost,
                    entry,
                });
            }
            let instructions: Vec<(u64, u64)> = match &instructions {
                Some(p) => serde_json::from_str(&read(p)?).map_err(|e| {
                    anyhow::anyhow!("{}: expected [[address, count], …]: {e}", p.display())
                })?,
                None => Vec::new(),
            };
            let profiled = !functions.is_empty() || !instructions.is_empty();
            choose::ChooseRequest {
                execution: profiled.then_some(choose::Execution {
                    tool,
                    functions,
                    instructions,
                    load_bias,
                }),
                patterns,
            }
        }
    };
    match choose::choose(&table, &req) {
        Ok(c) if json => emit_json(&serde_json::json!({
            "file": elf.path.display().to_string(), "arch": elf.arch, "choice": c,
        })),
        Ok(c) => {
            let mut s = String::new();
            choose::choice_text(&Ok(c), &mut s);
            emit_text(&s)
        }
        Err(why) => anyhow::bail!("{}: no function chosen: {why}", elf.path.display()),
    }
}

fn twin_cmd(lib: PathBuf, name: String, level: Option<String>, json: bool) -> anyhow::Result<()> {
    let (elf, table) = raptors_asm::open(&lib)?;
    let level = match level {
        Some(l) => Some(twin::IsaLevel::parse(&l).ok_or_else(|| {
            anyhow::anyhow!(
                "--level {l:?}: not a level (scalar, sse2, avx2, avx512, neon, X86_V3, …)"
            )
        })?),
        None => None,
    };
    let target = twin::IsaTarget {
        arch: elf.arch,
        level,
    };
    let t = twin::twin(&table, &name, target)
        .map_err(|why| anyhow::anyhow!("{}: {why}", elf.path.display()))?;
    if json {
        emit_json(&serde_json::json!({
            "file": elf.path.display().to_string(), "arch": elf.arch, "twin": t,
        }))
    } else {
        let mut s = format!(
            "{} at {:#x} (size {}, {:?}): {}\n",
            t.function, t.address, t.size, t.level, t.evidence
        );
        for v in &t.variants {
            s.push_str(&format!(
                "  variant {} at {:#x} ({:?})\n",
                v.function, v.address, v.level
            ));
        }
        emit_text(&s)
    }
}

fn parse_addr(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("{s:?} is not an address: {e}"))
}

fn simd_src(s: raptors_asm::elf::SymSource) -> &'static str {
    match s {
        raptors_asm::elf::SymSource::Symtab => ".symtab",
        raptors_asm::elf::SymSource::Dynsym => ".dynsym",
        raptors_asm::elf::SymSource::EhFrame => ".eh_frame",
    }
}

/// `  addr:\tbytes\ttext` → {address, bytes, text}; continuation/header lines are skipped.
fn parse_line(l: &str) -> Option<serde_json::Value> {
    let mut it = l.splitn(3, '\t');
    let addr = it.next()?.trim().strip_suffix(':')?;
    let bytes = it.next()?.trim();
    let text = it.next()?;
    let address = u64::from_str_radix(addr, 16).ok()?;
    Some(serde_json::json!({"address": address, "bytes": bytes, "text": text}))
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        // Broken pipe (e.g. `| head`) is not an error worth reporting.
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
        eprintln!("raptors-asm: error: {e:#}");
        std::process::exit(1);
    }
}
