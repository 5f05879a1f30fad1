//! The land the map draws offline: Natural Earth's 1:110m countries (public
//! domain), kept in `gui/data/land-110m.txt` and compiled into the binary. This file
//! parses that text (format v1, described in `docs/flight-map.md` and made by
//! `scripts/natural-earth.py`) into rings with their triangles; it draws nothing
//! (`map.rs` does) and never panics on a bad file: a bad line is an error naming it.

use std::sync::OnceLock;

const LAND_110M: &str = include_str!("../data/land-110m.txt");

/// One ring of a country: an outer ring (filled with its triangles) or a hole
/// (outlined only). Points are (latitude, longitude) in degrees.
#[derive(Debug, Clone, PartialEq)]
pub struct Ring {
    pub points: Vec<(f64, f64)>,
    /// Index triples into `points`; empty for a hole.
    pub triangles: Vec<[u32; 3]>,
    pub hole: bool,
    /// (south, west, north, east), for skipping rings outside the view.
    pub bounds: (f64, f64, f64, f64),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Land {
    pub countries: usize,
    pub rings: Vec<Ring>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LandError {
    #[error("land data: the first line after the comments must be `v1`, not `{found}`")]
    Version { found: String },
    #[error("land data line {line}: {reason}")]
    Line { line: usize, reason: String },
}

/// The compiled-in land; empty (an ocean map) if it could not be parsed, which a
/// test rules out.
pub fn builtin() -> &'static Land {
    static LAND: OnceLock<Land> = OnceLock::new();
    LAND.get_or_init(|| parse(LAND_110M).unwrap_or_default())
}

pub fn parse(text: &str) -> Result<Land, LandError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    match lines.next() {
        Some((_, "v1")) => {}
        other => {
            return Err(LandError::Version {
                found: other.map(|(_, l)| l.to_string()).unwrap_or_default(),
            })
        }
    }
    let mut land = Land::default();
    for (line, text) in lines {
        let bad = |reason: String| LandError::Line { line, reason };
        let (kind, rest) = text.split_once(' ').unwrap_or((text, ""));
        match kind {
            "C" => land.countries += 1,
            "R" | "H" => land.rings.push(ring(rest, kind == "H").map_err(bad)?),
            "T" => {
                let Some(last) = land.rings.last_mut().filter(|r| !r.hole && r.triangles.is_empty()) else {
                    return Err(bad("triangles without an outer ring before them".into()));
                };
                last.triangles = triangles(rest, last.points.len()).map_err(bad)?;
            }
            other => return Err(bad(format!("unknown record `{other}`"))),
        }
    }
    Ok(land)
}

fn ring(text: &str, hole: bool) -> Result<Ring, String> {
    let numbers = text
        .split_ascii_whitespace()
        .map(|n| n.parse::<f64>().map_err(|_| format!("`{n}` is not a number")))
        .collect::<Result<Vec<f64>, String>>()?;
    if numbers.len() % 2 != 0 || numbers.len() < 6 {
        return Err(format!("a ring needs at least three lon-lat pairs, got {} numbers", numbers.len()));
    }
    let mut points = Vec::with_capacity(numbers.len() / 2);
    let mut bounds = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for pair in numbers.chunks_exact(2) {
        let (lon, lat) = (pair[0], pair[1]);
        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return Err(format!("{lon} {lat} is not a longitude and latitude"));
        }
        bounds = (bounds.0.min(lat), bounds.1.min(lon), bounds.2.max(lat), bounds.3.max(lon));
        points.push((lat, lon));
    }
    Ok(Ring {
        points,
        triangles: Vec::new(),
        hole,
        bounds,
    })
}

fn triangles(text: &str, points: usize) -> Result<Vec<[u32; 3]>, String> {
    let indices = text
        .split_ascii_whitespace()
        .map(|n| match n.parse::<u32>() {
            Ok(i) if (i as usize) < points => Ok(i),
            _ => Err(format!("`{n}` is not a point of the ring's {points}")),
        })
        .collect::<Result<Vec<u32>, String>>()?;
    if indices.len() % 3 != 0 {
        return Err(format!("{} indices do not make triangles", indices.len()));
    }
    Ok(indices.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_land_has_every_country_and_covers_each_outer_ring_with_triangles() {
        let land = parse(LAND_110M).expect("the compiled-in land parses");
        assert_eq!(land.countries, 177);
        assert!(land.rings.len() > 250, "{} rings", land.rings.len());
        for ring in land.rings.iter().filter(|r| !r.hole) {
            // An ear-clipped ring of n points has n - 2 triangles.
            assert_eq!(ring.triangles.len(), ring.points.len() - 2, "{:?}", ring.bounds);
        }
        assert_eq!(builtin().rings.len(), land.rings.len());
    }

    #[test]
    fn a_bad_file_is_an_error_naming_its_line_not_a_panic() {
        assert_eq!(parse("# c\nv2\n"), Err(LandError::Version { found: "v2".into() }));
        let bad = |text: &str| match parse(text) {
            Err(LandError::Line { line, .. }) => line,
            other => panic!("{other:?}"),
        };
        assert_eq!(bad("v1\nC X\nR 0 0 1 0\n"), 3);
        assert_eq!(bad("v1\nR 0 0 1 0 1 1\nT 0 1 3\n"), 3);
        assert_eq!(bad("v1\nT 0 1 2\n"), 2);
        assert_eq!(bad("v1\nR 0 0 1 0 x 1\n"), 2);
        assert_eq!(bad("v1\nR 0 0 181 0 1 1\n"), 2);
        assert_eq!(bad("v1\nQ\n"), 2);
        let land = parse("v1\nC X\nR 0 0 1 0 1 1\nT 0 1 2\nH 0 0 0.5 0 0.5 0.5\n").expect("parses");
        assert_eq!(land.rings[0].triangles, vec![[0, 1, 2]]);
        assert_eq!(land.rings[0].points[1], (0.0, 1.0));
        assert!(land.rings[1].hole);
    }
}
