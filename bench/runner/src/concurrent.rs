//! Lambda Managed Instances: a runtime started with
//! `AWS_LAMBDA_MAX_CONCURRENCY = N` serves up to N invocations at once, one per
//! worker, each worker its own `/next` long poll. Every worker count in the
//! plan gets its own figures: a check that N invocations really overlap,
//! start-up instructions, peak memory and throughput.
//!
//! The driver waits until N polls are open (every worker up and free), then
//! queues all the run's invocations at once: a free worker never waits for
//! work, as with N callers that never pause, and the runtime's own workers
//! bound what is in flight (the tally checks that it is never more than N).
//! On a 2-core machine N workers compete for the cores with each other and
//! with the fake API's threads: throughput here is the runtime's overhead per
//! invocation under contention, not a cloud figure.

use crate::proc::{self, Wrap};
use crate::{driver, log_of, median, report, say, Conc, Plan, Runtime};
use fake_api::Invocation;
use std::path::Path;

/// `n` invocations of the small event.
fn events(n: usize) -> Vec<Invocation> {
    (0..n).map(driver::invocation).collect()
}

/// The figures for `n` workers, if that worker count passed [`sanity`].
fn conc(rt: &mut Runtime, n: usize) -> Option<&mut Conc> {
    rt.figures.conc.iter_mut().find(|c| c.n == n && c.skip.is_none())
}

fn measured(rt: &Runtime, n: usize) -> bool {
    rt.multi() && rt.figures.conc.iter().any(|c| c.n == n && c.skip.is_none())
}

/// For each worker count: N invocations that each sleep in the handler,
/// queued at once. A runtime with N workers answers them all in about one
/// sleep; one that handles them in turn takes N sleeps. Each must be answered
/// exactly once, with no error; a worker count that fails this is not
/// measured further (a runtime that opens fewer polls than N fails it at once).
pub fn sanity(rt: &mut Runtime, out: &Path, workers: &[usize]) {
    let log = log_of(out, rt);
    let _ = std::fs::remove_file(&log);
    let event = driver::sleep_event();
    for &n in workers {
        let mut c = Conc { n, ..Conc::default() };
        let events = (0..n).map(|k| driver::invocation_of(k, &event)).collect();
        match proc::run_workers(&rt.path, &Wrap::Native, n, events, false, &log) {
            Ok(run)
                if run.tally.responses == n
                    && run.tally.unanswered == 0
                    && run.tally.errors == 0
                    && run.tally.max_in_flight <= n =>
            {
                c.sleep_ms = run.answered_ms();
                if rt.figures.answer.is_none() {
                    rt.figures.answer = run
                        .tally
                        .first_response
                        .as_ref()
                        .map(|b| String::from_utf8_lossy(b).into_owned());
                    rt.figures.on_500 = Some(run.ending.clone());
                    rt.figures.last_words = crate::last_words(&log);
                }
                say(format!(
                    "{}, N = {n}: {n} invocations of {} ms answered in {:.0} ms, at most {} at once; \
                     answers {}; on /next 500 it {}",
                    rt.label,
                    driver::SLEEP_MS,
                    c.sleep_ms.unwrap_or(f64::NAN),
                    run.tally.max_in_flight,
                    rt.figures.answer.as_deref().unwrap_or("?"),
                    run.ending.describe()
                ));
            }
            Ok(run) => {
                c.skip = Some(format!(
                    "did not answer {n} concurrent invocations correctly ({} served, {} responses, \
                     {} errors, {} unanswered, at most {} at once)",
                    run.tally.served,
                    run.tally.responses,
                    run.tally.errors,
                    run.tally.unanswered,
                    run.tally.max_in_flight
                ));
            }
            Err(e) => c.skip = Some(e),
        }
        if let Some(why) = &c.skip {
            say(format!("{}, N = {n}: SKIPPED: {why}", rt.label));
        }
        rt.figures.conc.push(c);
    }
}

/// Callgrind, exec to exit: every worker starts and polls, then the API's
/// 500 ends the process. Threads do not start in the same order every time,
/// hence the median of repeats.
pub fn startup(rt: &mut Runtime, out: &Path, plan: &Plan) {
    let log = log_of(out, rt);
    for &n in plan.workers {
        if !measured(rt, n) {
            continue;
        }
        let mut counts = Vec::new();
        for _ in 0..plan.conc_reps {
            let file = proc::scratch(out, &format!("callgrind.{}.workers{n}", rt.key));
            let counted = proc::run_workers(&rt.path, &Wrap::Callgrind(&file), n, Vec::new(), false, &log)
                .and_then(|_| proc::callgrind_total(&file));
            match counted {
                Ok(i) => counts.push(i as f64),
                Err(e) => {
                    say(format!("{}, N = {n}: start-up not measured: {e}", rt.label));
                    break;
                }
            }
        }
        let i0 = median(&mut counts);
        if let (Some(c), Some(i0)) = (conc(rt, n), i0) {
            c.startup_instr = Some(i0);
            say(format!(
                "{}, N = {n}: {} instructions exec to exit",
                rt.label,
                report::thousands(i0)
            ));
        }
    }
}

/// VmHWM once the run's invocations are answered and every worker polls
/// again; mean of runs (ASLR moves the binary, see `peak` in main.rs).
pub fn peak(rt: &mut Runtime, out: &Path, plan: &Plan) {
    let log = log_of(out, rt);
    for &n in plan.workers {
        if !measured(rt, n) {
            continue;
        }
        let mut readings = Vec::new();
        for _ in 0..plan.conc_peak_runs {
            match proc::run_workers(&rt.path, &Wrap::Native, n, events(plan.conc_peak_n), true, &log) {
                Ok(run) => readings.extend(run.memory),
                Err(e) => say(format!("{}, N = {n}: memory run failed: {e}", rt.label)),
            }
        }
        if readings.is_empty() {
            continue;
        }
        let k = readings.len() as f64;
        let peak = readings.iter().map(|m| m.peak as f64).sum::<f64>() / k;
        let threads = readings.iter().map(|m| m.threads).max();
        if let Some(c) = conc(rt, n) {
            c.peak_kib = Some(peak);
            c.threads = threads;
        }
        say(format!(
            "{}, N = {n}: peak {peak:.0} KiB resident after {} invocations, {} threads (mean of {})",
            rt.label,
            plan.conc_peak_n,
            threads.unwrap_or(0),
            readings.len()
        ));
    }
}

/// Invocations per second, from queueing them to the last answer; median of
/// runs, runtimes interleaved as in the one-at-a-time timing.
pub fn timing(runtimes: &mut [Runtime], out: &Path, plan: &Plan) {
    if plan.conc_rate_runs == 0 || !runtimes.iter().any(|r| r.multi()) {
        return;
    }
    say(format!(
        "Managed Instances timing: {} throughput runs per runtime and worker count",
        plan.conc_rate_runs
    ));
    for &n in plan.workers {
        let live: Vec<usize> = (0..runtimes.len())
            .filter(|&i| measured(&runtimes[i], n))
            .collect();
        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); runtimes.len()];
        let mut in_flight = vec![0; runtimes.len()];
        for _ in 0..plan.conc_rate_runs {
            for &i in &live {
                let rt = &runtimes[i];
                match proc::run_workers(
                    &rt.path,
                    &Wrap::Native,
                    n,
                    events(plan.conc_rate_n),
                    false,
                    &log_of(out, rt),
                ) {
                    Ok(run) => {
                        rates[i].extend(run.answered_rate());
                        in_flight[i] = in_flight[i].max(run.tally.max_in_flight);
                    }
                    Err(e) => say(format!("{}, N = {n}: throughput run failed: {e}", rt.label)),
                }
            }
        }
        for &i in &live {
            if std::env::var_os("BENCH_DEBUG").is_some() {
                let v: Vec<String> = rates[i].iter().map(|x| format!("{x:.0}")).collect();
                say(format!(
                    "{}, N = {n} rate samples: {}",
                    runtimes[i].label,
                    v.join(" ")
                ));
            }
            let rate = median(&mut rates[i]);
            let label = runtimes[i].label;
            if let Some(c) = conc(&mut runtimes[i], n) {
                c.rate = rate;
                c.in_flight = Some(in_flight[i]);
            }
            say(format!(
                "{label}, N = {n}: {:.0} invocations/s, at most {} in flight",
                rate.unwrap_or(f64::NAN),
                in_flight[i]
            ));
        }
    }
}
