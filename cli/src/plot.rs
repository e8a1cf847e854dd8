//! `wgcnn bench --plot FILE.png|svg`: a report's roofline chart, drawn with `plotters`.
//! Log-log axes: arithmetic intensity (FLOP per byte of unavoidable traffic) against
//! achieved GFLOP/s at the median time; the measured roofs as lines (the FP32 FMA peak,
//! and the slopes of `copy_buffer_to_buffer` and of the vec4 copy shader up to it); one
//! labelled point per workload. The text comes from a font built into the binary, so a
//! chart needs no system font.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::report::{Report, ReportError};

/// DejaVu Sans cut down to ASCII (`cli/assets/README.md`).
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans-ascii.ttf");
const FAMILY: &str = "sans-serif";
/// Width and height in pixels (PNG) or user units (SVG).
const SIZE: (u32, u32) = (1000, 680);

const COMPUTE: RGBColor = RGBColor(31, 119, 180);
const MEMORY: RGBColor = RGBColor(214, 96, 29);
const ROOF: RGBColor = RGBColor(40, 40, 40);
const SHADER_ROOF: RGBColor = RGBColor(120, 120, 120);

/// Draws `report`'s roofline chart into `path`: PNG or SVG by its extension.
///
/// # Errors
/// [`ReportError::Plot`] for another extension or a report with nothing to draw;
/// [`ReportError::Io`] when the file cannot be written.
pub fn plot(report: &Report, path: &Path) -> Result<(), ReportError> {
    let name = || path.display().to_string();
    let plot_err = |reason: String| ReportError::Plot {
        path: name(),
        reason,
    };
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        // the font is a constant of the binary, checked by the tests
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("svg") => {
            let mut svg = String::new();
            draw(
                SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(),
                report,
            )
            .map_err(plot_err)?;
            std::fs::write(path, svg).map_err(|source| ReportError::Io {
                path: name(),
                source,
            })
        }
        Some("png") => {
            let (w, h) = SIZE;
            let mut rgb = vec![0u8; w as usize * h as usize * 3];
            draw(
                BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area(),
                report,
            )
            .map_err(plot_err)?;
            let picture = image::RgbImage::from_raw(w, h, rgb).expect("the buffer's size");
            picture.save(path).map_err(|e| match e {
                image::ImageError::IoError(source) => ReportError::Io {
                    path: name(),
                    source,
                },
                other => plot_err(other.to_string()),
            })
        }
        _ => Err(plot_err(
            "a chart is written as FILE.png or FILE.svg".into(),
        )),
    }
}

/// One workload on the chart.
struct Point {
    name: String,
    intensity: f64,
    gflops: f64,
    compute: bool,
}

/// `lo..hi` widened to whole powers of ten.
fn decades(lo: f64, hi: f64) -> std::ops::Range<f64> {
    10f64.powf(lo.log10().floor())..10f64.powf(hi.log10().ceil())
}

/// A tick of a log axis: `0.01`, `0.5`, `20`, `1000`, without float noise.
fn tick(v: f64) -> String {
    let decimals = (-v.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

fn draw<DB: DrawingBackend>(area: DrawingArea<DB, Shift>, report: &Report) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let points: Vec<Point> = report
        .results
        .iter()
        .map(|r| Point {
            name: r.workload.clone(),
            intensity: r.intensity(),
            gflops: r.achieved_gflops(),
            compute: r.gflops.is_some(),
        })
        .filter(|p| p.intensity.is_finite() && p.intensity > 0.0 && p.gflops > 0.0)
        .filter(|p| p.gflops.is_finite())
        .collect();
    let roof = report
        .roof
        .filter(|r| r.fma_gflops > 0.0 && r.copy_gbps > 0.0 && r.shader_copy_gbps > 0.0);
    if points.is_empty() && roof.is_none() {
        return Err("no workload with a throughput and no roof: nothing to draw".into());
    }
    // the ranges: every point, and each roof's ridge (where its slope meets the peak)
    let mut xs: Vec<f64> = points.iter().map(|p| p.intensity).collect();
    let mut ys: Vec<f64> = points.iter().map(|p| p.gflops).collect();
    if let Some(r) = roof {
        xs.extend([
            r.fma_gflops / r.copy_gbps,
            r.fma_gflops / r.shader_copy_gbps,
        ]);
        ys.push(r.fma_gflops);
    }
    let (x_lo, x_hi) = xs
        .iter()
        .fold((f64::INFINITY, 0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let (y_lo, y_hi) = ys
        .iter()
        .fold((f64::INFINITY, 0f64), |(lo, hi), &y| (lo.min(y), hi.max(y)));
    let x_range = decades(x_lo / 1.5, x_hi * 1.5);
    let y_range = decades(y_lo / 1.5, y_hi * 1.5);

    area.fill(&WHITE).map_err(e)?;
    let mut chart = ChartBuilder::on(&area)
        .caption(
            format!("Roofline: {}", report.describe()),
            (FAMILY, 22).into_font(),
        )
        .margin(16)
        .margin_right(36)
        .x_label_area_size(52)
        .y_label_area_size(72)
        .build_cartesian_2d(x_range.clone().log_scale(), y_range.clone().log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("arithmetic intensity (FLOP per byte of input, weights and output)")
        .y_desc("achieved GFLOP/s (median time)")
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .label_style((FAMILY, 15).into_font())
        .axis_desc_style((FAMILY, 17).into_font())
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(210, 210, 210))
        .draw()
        .map_err(e)?;

    if let Some(r) = roof {
        let peak = r.fma_gflops;
        // a bandwidth's slope, from where it enters the chart to the peak
        let slope = |gbps: f64| {
            let start = x_range.start.max(y_range.start / gbps);
            vec![(start, gbps * start), (peak / gbps, peak)]
        };
        chart
            .draw_series(LineSeries::new(
                [(peak / r.copy_gbps, peak), (x_range.end, peak)],
                ROOF.stroke_width(3),
            ))
            .map_err(e)?
            .label(format!("FP32 FMA peak: {peak:.1} GFLOP/s"))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], ROOF.stroke_width(3)));
        chart
            .draw_series(LineSeries::new(
                slope(r.copy_gbps),
                ROOF.mix(0.8).stroke_width(2),
            ))
            .map_err(e)?
            .label(format!(
                "copy_buffer_to_buffer: {:.2} GB/s (read + write)",
                r.copy_gbps
            ))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], ROOF.stroke_width(2)));
        chart
            .draw_series(DashedLineSeries::new(
                slope(r.shader_copy_gbps),
                8,
                5,
                SHADER_ROOF.stroke_width(2),
            ))
            .map_err(e)?
            .label(format!(
                "vec4 copy shader: {:.2} GB/s (read + write)",
                r.shader_copy_gbps
            ))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], SHADER_ROOF.stroke_width(2)));
    }

    // each label where it covers the fewest other labels and points
    let label_font = (FAMILY, 13).into_font();
    let marks: Vec<(i32, i32)> = points
        .iter()
        .map(|p| chart.backend_coord(&(p.intensity, p.gflops)))
        .collect();
    let sizes: Vec<(i32, i32)> = points
        .iter()
        .map(|p| {
            let (w, h) = label_font.box_size(&p.name).unwrap_or((0, 0));
            (w as i32, h as i32)
        })
        .collect();
    let offsets = place_labels(&marks, &sizes);
    for (compute, color, label) in [
        (
            true,
            COMPUTE,
            "convolutions and networks (2 FLOP per multiply-add)",
        ),
        (
            false,
            MEMORY,
            "pooling, interpolation, relu (1 op per output element)",
        ),
    ] {
        let group: Vec<(&Point, (i32, i32))> = points
            .iter()
            .zip(offsets.iter().copied())
            .filter(|(p, _)| p.compute == compute)
            .collect();
        if group.is_empty() {
            continue;
        }
        let font = label_font.clone().color(&color.mix(0.9));
        chart
            .draw_series(group.iter().map(|(p, offset)| {
                EmptyElement::at((p.intensity, p.gflops))
                    + Circle::new((0, 0), 5, color.filled())
                    + Text::new(p.name.clone(), *offset, font.clone())
            }))
            .map_err(e)?
            .label(label)
            .legend(move |(x, y)| Circle::new((x + 12, y), 5, color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FAMILY, 14).into_font())
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(e)?;
    area.present().map_err(e)
}

/// The top-left corner of each label, relative to its point (pixels), chosen in turn
/// among places around the point as the one that overlaps the fewest pixels of the
/// labels placed before it and of every point's marker.
fn place_labels(marks: &[(i32, i32)], sizes: &[(i32, i32)]) -> Vec<(i32, i32)> {
    type Rect = (i32, i32, i32, i32);
    let overlap = |a: Rect, b: Rect| {
        let w = (a.0 + a.2).min(b.0 + b.2) - a.0.max(b.0);
        let h = (a.1 + a.3).min(b.1 + b.3) - a.1.max(b.1);
        i64::from(w.max(0)) * i64::from(h.max(0))
    };
    let mut taken: Vec<Rect> = marks.iter().map(|&(x, y)| (x - 6, y - 6, 12, 12)).collect();
    let mut out = Vec::with_capacity(marks.len());
    for (&(x, y), &(w, h)) in marks.iter().zip(sizes) {
        let candidates = [
            (8, -h - 1),
            (8, 1),
            (8, -h / 2),
            (-w - 8, -h - 1),
            (-w - 8, 1),
            (-w - 8, -h / 2),
            (-w / 2, -h - 8),
            (-w / 2, 8),
            (8, -2 * h - 2),
            (8, h + 2),
            (-w - 8, -2 * h - 2),
            (-w - 8, h + 2),
        ];
        let best = candidates
            .into_iter()
            .min_by_key(|&(dx, dy)| {
                let rect = (x + dx, y + dy, w, h);
                taken.iter().map(|&t| overlap(rect, t)).sum::<i64>()
            })
            .expect("candidates");
        taken.push((x + best.0, y + best.1, w, h));
        out.push(best);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_print_without_float_noise() {
        assert_eq!(tick(0.1f64.powi(2)), "0.01");
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(20.0), "20");
        assert_eq!(tick(1000.0), "1000");
    }

    #[test]
    fn labels_of_close_points_do_not_overlap() {
        let marks = [(100, 100), (104, 102), (100, 112)];
        let sizes = [(60, 13); 3];
        let offsets = place_labels(&marks, &sizes);
        let rects: Vec<(i32, i32)> = marks
            .iter()
            .zip(&offsets)
            .map(|(m, o)| (m.0 + o.0, m.1 + o.1))
            .collect();
        for (i, a) in rects.iter().enumerate() {
            for b in &rects[i + 1..] {
                let apart = (a.0 - b.0).abs() >= 60 || (a.1 - b.1).abs() >= 13;
                assert!(apart, "{rects:?}");
            }
        }
    }

    #[test]
    fn the_built_in_font_registers() {
        assert!(plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    }
}
