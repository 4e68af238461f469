//! The plot of `BENCHMARKS.md`: pingpong throughput against connection
//! count, one line per server, drawn with plotters into a PNG.

use crate::report::{SERVERS, SWEEP, median, values};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use serde_json::Value;
use std::error::Error;
use std::path::Path;

/// One colour per server, in [`SERVERS`] order (wasio in warm colours).
const COLOURS: [RGBColor; 6] = [
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(188, 189, 34),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// Draws the pingpong sweep of `records` (medians over repetitions) into a
/// PNG at `output`, labelled with the TrueType font at `font`.
pub fn plot(records: &[Value], output: &Path, font: &Path) -> Result<(), Box<dyn Error>> {
    // plotters' pure-Rust rasteriser needs the font bytes for the whole
    // program's life; one plot per process, so leaking them is the simple
    // way to get that.
    let bytes: &'static [u8] = Box::leak(
        std::fs::read(font)
            .map_err(|e| format!("cannot read font {}: {e}", font.display()))?
            .into_boxed_slice(),
    );
    register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| format!("{} is not a usable font", font.display()))?;

    let series: Vec<(&str, Vec<(f64, f64)>)> = SERVERS
        .iter()
        .map(|s| {
            let points = SWEEP
                .iter()
                .filter_map(|(col, conns)| {
                    median(&values(records, s.id, col, "ops_per_sec"))
                        .map(|v| (*conns as f64, v / 1000.0))
                })
                .collect();
            (s.short, points)
        })
        .collect();
    let top = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(0.0, f64::max);
    if top <= 0.0 {
        return Err("no pingpong results to plot".into());
    }

    let root = BitMapBackend::new(output, (960, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "wasio vs native Tokio, uvloop, asyncio: pingpong 64 B (server on 1 core)",
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d((0.8f64..1300f64).log_scale(), 0f64..top * 1.15)?;
    chart
        .configure_mesh()
        .x_desc("concurrent connections (log scale)")
        .y_desc("round trips per second")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}k"))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .draw()?;
    for ((id, points), colour) in series.into_iter().zip(COLOURS) {
        if points.is_empty() {
            continue;
        }
        let style = ShapeStyle::from(&colour).stroke_width(2);
        chart
            .draw_series(LineSeries::new(points.clone(), style))?
            .label(id)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
        chart.draw_series(
            points
                .into_iter()
                .map(move |p| Circle::new(p, 4, colour.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()?;
    root.present()?;
    Ok(())
}
