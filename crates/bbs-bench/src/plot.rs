//! The transfer-over-time figure of `bbs-bench files --plot`: bytes on the
//! receiving side's disk sampled while a command runs, drawn as throughput
//! against time in a plain SVG (no plotting dependency for one chart).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the receiving file's size is looked at.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// Throughput is drawn averaged over this long.
const SMOOTH: f64 = 0.2;

/// One line of the figure: (seconds since the start, bytes received).
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, u64)>,
}

/// Samples, until dropped, the size of the largest file in `dir` whose name
/// passes `wanted` (the partial file the receiver writes to).
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<(f64, u64)>>>,
}

impl Sampler {
    pub fn start(dir: PathBuf, wanted: fn(&str) -> bool) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut points = vec![(0.0, 0)];
            let mut most = 0;
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(SAMPLE_EVERY);
                most = most.max(largest(&dir, wanted));
                points.push((start.elapsed().as_secs_f64(), most));
            }
            points
        });
        Sampler { stop, thread: Some(thread) }
    }

    /// Stops sampling; `size` is where the transfer ended.
    pub fn finish(mut self, size: u64) -> Vec<(f64, u64)> {
        self.stop.store(true, Ordering::Relaxed);
        let mut points = self.thread.take().and_then(|t| t.join().ok()).unwrap_or_default();
        if let Some(&(t, _)) = points.last() {
            points.push((t, size));
        }
        points
    }
}

fn largest(dir: &Path, wanted: fn(&str) -> bool) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(wanted))
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .max()
        .unwrap_or(0)
}

/// Throughput (MiB/s) over time, averaged over [`SMOOTH`] seconds.
fn rates(points: &[(f64, u64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let mut from = 0;
    for (i, &(t, bytes)) in points.iter().enumerate() {
        while points[from].0 < t - SMOOTH {
            from += 1;
        }
        let (t0, b0) = points[from];
        if i > from && t > t0 {
            out.push((t, (bytes - b0) as f64 / (t - t0) / (1 << 20) as f64));
        }
    }
    out
}

const COLOURS: [&str; 8] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

/// Writes the figure of every series to `path`.
pub fn write_svg(path: &Path, title: &str, series: &[Series]) -> std::io::Result<()> {
    let (width, height, left, right, top, bottom) = (900.0, 420.0, 60.0, 230.0, 30.0, 40.0);
    let lines: Vec<Vec<(f64, f64)>> = series.iter().map(|s| rates(&s.points)).collect();
    let t_max = lines.iter().flatten().map(|p| p.0).fold(1.0, f64::max);
    let r_max = lines.iter().flatten().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let x = |t: f64| left + t / t_max * (width - left - right);
    let y = |r: f64| height - bottom - r / r_max * (height - top - bottom);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(svg, r#"<text x="{left}" y="18" font-size="14">{}</text>"#, escape(title));
    for i in 0..=5 {
        let r = r_max * i as f64 / 5.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{r:.0}</text>"##,
            width - right,
            left - 5.0,
            y(r) + 4.0,
            y = y(r)
        );
        let t = t_max * i as f64 / 5.0;
        let _ =
            writeln!(svg, r#"<text x="{:.1}" y="{}" text-anchor="middle">{t:.1}</text>"#, x(t), height - bottom + 16.0);
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">seconds since the command started</text><text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">MiB/s (over {SMOOTH} s)</text>"#,
        (left + width - right) / 2.0,
        height - 6.0,
        height / 2.0,
        height / 2.0
    );
    for (i, (line, series)) in lines.iter().zip(series).enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = line.iter().map(|&(t, r)| format!("{:.1},{:.1}", x(t), y(r))).collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
            points.join(" ")
        );
        let ly = top + 10.0 + 18.0 * i as f64;
        let _ = writeln!(
            svg,
            r#"<line x1="{}" x2="{}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            width - right + 10.0,
            width - right + 30.0,
            width - right + 36.0,
            ly + 4.0,
            escape(&series.label)
        );
    }
    svg.push_str("</svg>\n");
    std::fs::write(path, svg)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
