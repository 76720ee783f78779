//! PNG charts of the results (plotters, bitmap backend). Text is drawn with ab_glyph from a TTF
//! file read at run time (DejaVu Sans or Liberation Sans where installed, or `$BENCH_FONT`), so
//! the benchmark needs neither fontconfig nor FreeType; without a font it skips the charts and
//! says so.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use crate::memscale::Point;
use crate::resources::Row;

const FONT_CANDIDATES: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
];

const COLORS: [RGBColor; 7] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(127, 127, 127),
];

/// Register a sans-serif font once; false when none is available.
pub fn init_font() -> bool {
    let path = std::env::var_os("BENCH_FONT")
        .map(PathBuf::from)
        .into_iter()
        .chain(FONT_CANDIDATES.iter().map(PathBuf::from))
        .find(|p| p.is_file());
    let Some(bytes) = path.and_then(|p| std::fs::read(p).ok()) else {
        return false;
    };
    // ab_glyph needs 'static bytes; one font for the process's lifetime.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("chart: {e:?}")
}

/// Horizontal bar chart: one bar per (label, value).
pub fn bars(path: &Path, title: &str, unit: &str, data: &[(String, f64)]) -> Result<()> {
    let data: Vec<(String, f64)> = data.iter().filter(|d| d.1.is_finite()).cloned().collect();
    if data.is_empty() {
        return Ok(());
    }
    let max = data.iter().map(|d| d.1).fold(0.0, f64::max) * 1.15;
    let h = 90 + 44 * data.len() as u32;
    let root = BitMapBackend::new(path, (900, h)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let n = data.len() as i32;
    let mut c = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(330)
        .build_cartesian_2d(0.0..max, (0..n).into_segmented())
        .map_err(err)?;
    let labels: Vec<String> = data.iter().map(|d| d.0.clone()).collect();
    c.configure_mesh()
        .disable_y_mesh()
        .x_desc(unit)
        .y_labels(data.len())
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    for (i, (_, v)) in data.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let i = i as i32;
        c.draw_series(std::iter::once(Rectangle::new(
            [
                (0.0, SegmentValue::Exact(i)),
                (*v, SegmentValue::Exact(i + 1)),
            ],
            color.filled(),
        )))
        .map_err(err)?;
        c.draw_series(std::iter::once(Text::new(
            format!("{v:.1}"),
            (*v + max * 0.01, SegmentValue::CenterOf(i)),
            ("sans-serif", 15),
        )))
        .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Line chart: one series per (label, points).
pub fn lines(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[(String, Vec<(f64, f64)>)],
    log2_x: bool,
) -> Result<()> {
    let tx = |x: f64| if log2_x { x.log2() } else { x };
    let pts = series
        .iter()
        .flat_map(|s| s.1.iter())
        .filter(|p| p.1.is_finite());
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, 0.0f64);
    for p in pts {
        x0 = x0.min(tx(p.0));
        x1 = x1.max(tx(p.0));
        y1 = y1.max(p.1);
    }
    if x0 > x1 {
        return Ok(());
    }
    let pad = ((x1 - x0) * 0.05).max(0.1);
    let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut c = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d((x0 - pad)..(x1 + pad), 0.0..(y1 * 1.15))
        .map_err(err)?;
    c.configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| {
            if log2_x {
                format!("{:.0}", v.exp2())
            } else {
                format!("{v:.0}")
            }
        })
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    for (i, (label, p)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let p: Vec<(f64, f64)> = p
            .iter()
            .filter(|q| q.1.is_finite())
            .map(|q| (tx(q.0), q.1))
            .collect();
        c.draw_series(LineSeries::new(p.clone(), color.stroke_width(3)))
            .map_err(err)?
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
        c.draw_series(p.into_iter().map(|q| Circle::new(q, 4, color.filled())))
            .map_err(err)?;
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// The resource-table charts; returns the files written.
pub fn resources(dir: &Path, rows: &[Row], widths: &[u32]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut chart = |name: &str, title: &str, unit: &str, f: &dyn Fn(&Row) -> f64| -> Result<()> {
        let p = dir.join(name);
        let data: Vec<(String, f64)> = rows.iter().map(|r| (r.label.clone(), f(r))).collect();
        bars(&p, title, unit, &data)?;
        out.push(p);
        Ok(())
    };
    chart("peak-rss.png", "Peak memory (resident set)", "MiB", &|r| {
        r.rss_mib()
    })?;
    chart(
        "ttft.png",
        "Time to first token (clinic prompt)",
        "milliseconds",
        &|r| r.field(|x| x.ttft_ms),
    )?;
    chart(
        "seconds-per-question.png",
        "Seconds per question (fixed set)",
        "seconds",
        &|r| r.s_per_q(),
    )?;
    chart(
        "decode-single.png",
        "Decode speed, one request",
        "tokens/s",
        &|r| r.field(|x| x.decode_tps),
    )?;
    let mut series = Vec::new();
    for r in rows {
        for (agg, what) in [(true, "decode"), (false, "end to end")] {
            let p: Vec<(f64, f64)> = widths
                .iter()
                .map(|&w| (w as f64, r.width(w, agg)))
                .collect();
            if p.iter().any(|q| q.1.is_finite())
                && (r.label.contains("daemon")
                    || r.label.contains("llama")
                    || r.label.contains("max_parallel"))
            {
                series.push((format!("{} ({what})", r.label), p));
            }
        }
    }
    let p = dir.join("throughput.png");
    lines(
        &p,
        "Total tokens/s with several clinic apps asking at once",
        "concurrent requests",
        "tokens/s (all requests)",
        &series,
        false,
    )?;
    out.push(p);
    Ok(out)
}

/// The 7B memory chart (memory against context per request at max_parallel 1).
pub fn memory(dir: &Path, points: &[Point], paper_gb: f64) -> Result<Vec<PathBuf>> {
    let one: Vec<&Point> = points.iter().filter(|p| p.parallel == 1).collect();
    let s = |f: &dyn Fn(&Point) -> f64| {
        one.iter()
            .map(|p| (p.ctx_per_request as f64, f(p)))
            .collect()
    };
    let xs: Vec<f64> = one.iter().map(|p| p.ctx_per_request as f64).collect();
    let series = vec![
        ("medllm engine (measured)".to_string(), s(&|p| p.ours_mib)),
        (
            "llama-batched-bench (measured)".into(),
            s(&|p| p.batched_bench_mib),
        ),
        ("planner prediction".into(), s(&|p| p.predicted_mib)),
        (
            format!("paper: {paper_gb} GB"),
            xs.iter()
                .map(|&x| (x, paper_gb * 1e9 / 1048576.0))
                .collect(),
        ),
    ];
    let p = dir.join("memory-7b.png");
    lines(
        &p,
        "7B model (Q4_K_M), CPU: peak memory by context length",
        "context tokens per request",
        "MiB",
        &series,
        false,
    )?;
    Ok(vec![p])
}
