//! `wxa pregen`: makes `unlimited` codes for a file of scenes ahead of time, with the same
//! service as `/api/qr_code` (WeChat's advice for large numbers of codes).
//!
//! The `codes` table is the journal: a scene whose record exists is skipped, and a record
//! is written only after its image is complete in the store (a temp file renamed into
//! place, or one PUT to the bucket). So a
//! run stopped anywhere (Ctrl-C, a kill, a crash) is resumed by running it again, with
//! nothing lost and nothing made twice. Ctrl-C stops handing out scenes and lets the
//! codes in flight finish.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Settings;
use crate::domain::codes::{CodeSpec, RawCode, parse_page};
use crate::domain::target::Target;
use crate::error::AppError;
use crate::services::ServiceDeps;
use crate::services::admission::Admit;
use crate::services::codes::{CodeService, Wait};
use crate::store::Db;

type BoxError = Box<dyn std::error::Error>;

/// `wxa pregen --kind unlimited --page PAGE --scenes FILE [--app NAME] [--concurrency N]`
#[derive(Debug, Clone, clap::Args)]
pub struct PregenArgs {
    /// Only `unlimited`: limited and qrcode codes spend a lifetime quota.
    #[arg(long, value_parser = ["unlimited"], default_value = "unlimited")]
    pub kind: String,
    /// The published page the codes open (no leading `/`); default the home page.
    #[arg(long)]
    pub page: Option<String>,
    /// One scene per line (blank lines and repeats are ignored).
    #[arg(long, value_name = "FILE")]
    pub scenes: PathBuf,
    /// The app's config name; default `wechat.default_app`.
    #[arg(long)]
    pub app: Option<String>,
    /// Codes in flight at once (the pace is kept whatever the number).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// 280..1280 pixels, default 430.
    #[arg(long)]
    pub width: Option<i64>,
    /// release (default), trial or develop.
    #[arg(long)]
    pub env_version: Option<String>,
    /// Allow pages not in the published version (check_path=false).
    #[arg(long)]
    pub no_check_path: bool,
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The code service built from settings, as `Application::build` builds it, without
/// the HTTP server. The image folder is prepared (temp files of dead writers removed), or
/// the bucket asked once: a run whose codes could not be stored stops before it starts.
pub async fn code_service(settings: Settings) -> Result<(Arc<CodeService>, Db), BoxError> {
    let db = Db::connect(&settings.database).await?;
    db.migrate().await?;
    let deps = ServiceDeps::build(settings, db.clone()).await?;
    let codes = crate::services::codes::CodeService::new(&deps)?;
    codes.images().prepare()?;
    codes.images().ping().await?;
    Ok((codes, db))
}

struct Job {
    line: usize,
    spec: CodeSpec,
}

#[derive(Default)]
struct Tally {
    made: AtomicUsize,
    skipped: AtomicUsize,
    /// Failure label -> line numbers.
    failed: Mutex<BTreeMap<String, Vec<usize>>>,
}

impl Tally {
    fn fail(&self, label: String, line: usize) {
        let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        failed.entry(label).or_default().push(line);
    }

    fn message(&self) -> String {
        let failed: usize = self
            .failed
            .lock()
            .map_or(0, |f| f.values().map(Vec::len).sum());
        format!(
            "made {} skipped {} failed {failed}",
            self.made.load(Ordering::Relaxed),
            self.skipped.load(Ordering::Relaxed)
        )
    }
}

pub async fn run(settings: Settings, args: PregenArgs) -> Result<(), BoxError> {
    let Some((app, app_id)) = settings
        .app(args.app.as_deref())
        .map(|(name, a)| (name.to_owned(), a.app_id.clone()))
    else {
        let apps: Vec<&String> = settings.wechat.mini_program.keys().collect();
        return Err(format!("no app named {:?} (apps: {apps:?})", args.app).into());
    };
    if app_id.is_empty() {
        return Err(format!("[wechat.mini_program.{app}] has no app_id").into());
    }
    if let Some(page) = &args.page {
        parse_page("page", page).map_err(|e| format!("--page: {}", e.rule))?;
    }
    // The options are the same for every scene: check them once, before anything runs.
    CodeSpec::parse(&raw_code(&args, "probe"))
        .map_err(|e| format!("--{}: {}", e.field.replace('_', "-"), e.rule))?;
    let text = std::fs::read_to_string(&args.scenes)
        .map_err(|e| format!("--scenes {}: {e}", args.scenes.display()))?;
    let tally = Arc::new(Tally::default());
    let (jobs, duplicates) = read_scenes(&text, &args, &tally);
    let attempted_total = jobs.len();

    let (codes, db) = code_service(settings).await?;
    let per_minute = codes.per_minute();
    println!(
        "pregen: {} scenes for {app} ({app_id}), page {}, {} workers, paced to {per_minute}/min",
        attempted_total,
        args.page.as_deref().unwrap_or("(home page)"),
        args.concurrency
    );

    let bar = ProgressBar::new(attempted_total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
        )
        .map_or_else(
            |_| ProgressStyle::default_bar(),
            |s| s.progress_chars("=> "),
        ),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(stop_on_signal(stop.clone(), bar.clone()));

    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency.max(1))
        .map(|_| {
            let (jobs, next, stop) = (jobs.clone(), next.clone(), stop.clone());
            let (codes, tally, bar) = (codes.clone(), tally.clone(), bar.clone());
            let target = Target::configured(app.clone(), app_id.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    match codes
                        .get_or_make(&target, &job.spec, Wait::Unbounded, Admit::Internal)
                        .await
                    {
                        Ok(r) if r.cached => tally.skipped.fetch_add(1, Ordering::Relaxed),
                        Ok(_) => tally.made.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            tally.fail(label(&e), job.line);
                            0
                        }
                    };
                    bar.inc(1);
                    bar.set_message(tally.message());
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    watcher.abort();
    bar.finish_and_clear();
    db.close().await;

    let elapsed = started.elapsed();
    let done = next.load(Ordering::Relaxed).min(attempted_total);
    let interrupted = stop.load(Ordering::Relaxed) && done < attempted_total;
    let failed = print_summary(&tally, duplicates, elapsed, per_minute);
    if interrupted {
        println!(
            "interrupted: {} scenes not attempted; run the same command again to resume",
            attempted_total - done
        );
        return Err("interrupted".into());
    }
    if failed > 0 {
        return Err(format!("{failed} of the scenes failed (see above)").into());
    }
    Ok(())
}

/// One job per distinct scene, in file order; bad scenes are failures (with their line).
fn read_scenes(text: &str, args: &PregenArgs, tally: &Tally) -> (Vec<Job>, usize) {
    let mut seen = HashSet::new();
    let mut jobs = Vec::new();
    let mut duplicates = 0;
    for (i, line) in text.lines().enumerate() {
        let scene = line.trim();
        if scene.is_empty() {
            continue;
        }
        if !seen.insert(scene) {
            duplicates += 1;
            continue;
        }
        match CodeSpec::parse(&raw_code(args, scene)) {
            Ok(spec) => jobs.push(Job { line: i + 1, spec }),
            Err(e) => tally.fail(format!("invalid {}: {}", e.field, e.rule), i + 1),
        }
    }
    (jobs, duplicates)
}

fn raw_code<'a>(args: &'a PregenArgs, scene: &'a str) -> RawCode<'a> {
    RawCode {
        kind: Some("unlimited"),
        page: args.page.as_deref(),
        scene: Some(scene),
        width: args.width,
        env_version: args.env_version.as_deref(),
        check_path: Some(!args.no_check_path),
        ..RawCode::default()
    }
}

/// What went wrong, grouped for the summary: WeChat's errcode where it gave one.
fn label(e: &AppError) -> String {
    match e {
        AppError::Wechat(f)
        | AppError::RateLimited {
            wechat: Some(f), ..
        } => format!("errcode {}", f.errcode),
        AppError::RateLimited { msg, .. } => format!("limit: {msg}"),
        AppError::Upstream(why) => format!("unreachable: {why}"),
        other => other.to_string(),
    }
}

fn print_summary(tally: &Tally, duplicates: usize, elapsed: Duration, per_minute: u32) -> usize {
    let made = tally.made.load(Ordering::Relaxed);
    let skipped = tally.skipped.load(Ordering::Relaxed);
    let failed = tally.failed.lock().map(|f| f.clone()).unwrap_or_default();
    let failed_count: usize = failed.values().map(Vec::len).sum();
    let secs = elapsed.as_secs_f64().max(1e-3);
    println!("made     {made}");
    println!("skipped  {skipped} (already stored)");
    if duplicates > 0 {
        println!("duplicate lines ignored: {duplicates}");
    }
    println!("failed   {failed_count}");
    for (what, lines) in &failed {
        let shown: Vec<String> = lines.iter().take(10).map(usize::to_string).collect();
        let more = if lines.len() > 10 { ", ..." } else { "" };
        let noun = if lines.len() == 1 { "line" } else { "lines" };
        println!(
            "  {what}: {} ({noun} {}{more})",
            lines.len(),
            shown.join(", ")
        );
    }
    println!(
        "elapsed  {secs:.1} s, {:.1} codes/min made (pace {per_minute}/min)",
        made as f64 * 60.0 / secs
    );
    failed_count
}

/// Ctrl-C or SIGTERM: no new scenes; the ones in flight finish.
async fn stop_on_signal(stop: Arc<AtomicBool>, bar: ProgressBar) {
    crate::cli::shutdown_signal().await;
    stop.store(true, Ordering::Relaxed);
    bar.println("stopping: finishing the codes in flight (run again to resume)");
}
