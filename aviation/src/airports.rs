//! The airports data set: parsing the CSV of real airports kept in the repository
//! (`aviation/data/airports.csv`: IATA, ICAO, name, city, country, latitude, longitude) and
//! looking airports up by code. It does not write them to the database (`store.rs`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::geo::LatLon;

/// The CSV compiled into the binary, so `flight-sim setup` works from any directory and
/// the map shows airports before (or without) the cluster. Its order ranks airports
/// (busiest first), which the map uses to declutter.
pub const BUILTIN_CSV: &str = include_str!("../data/airports.csv");

const HEADER: [&str; 7] = ["iata", "icao", "name", "city", "country", "latitude", "longitude"];

#[derive(Debug, Clone, PartialEq)]
pub struct Airport {
    pub iata: String,
    pub icao: String,
    pub name: String,
    pub city: String,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
}

impl Airport {
    pub fn location(&self) -> LatLon {
        LatLon::new(self.latitude, self.longitude)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AirportsError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("line {line}: expected the header `{}`", HEADER.join(","))]
    BadHeader { line: usize },
    #[error("line {line}: expected 7 fields, found {found}")]
    FieldCount { line: usize, found: usize },
    #[error("line {line}: {field} `{value}` is malformed")]
    BadField { line: usize, field: &'static str, value: String },
    #[error("line {line}: IATA code {iata} appears twice")]
    Duplicate { line: usize, iata: String },
}

/// All airports, by IATA code.
#[derive(Debug, Clone, Default)]
pub struct Airports {
    by_iata: BTreeMap<String, Airport>,
    /// IATA codes in the order of the file (busiest first).
    order: Vec<String>,
}

impl Airports {
    /// The airports compiled into the binary.
    pub fn builtin() -> Result<Airports, AirportsError> {
        Airports::parse(BUILTIN_CSV)
    }

    pub fn from_file(path: &Path) -> Result<Airports, AirportsError> {
        let text = std::fs::read_to_string(path).map_err(|source| AirportsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Airports::parse(&text)
    }

    /// Parses the CSV: a header line, then one airport a line. Fields may be quoted
    /// with `"` (and `""` inside quotes is a quote); blank lines and `#` lines are skipped.
    pub fn parse(text: &str) -> Result<Airports, AirportsError> {
        let mut by_iata = BTreeMap::new();
        let mut order = Vec::new();
        let mut saw_header = false;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fields = split_csv_line(trimmed);
            if !saw_header {
                let names: Vec<String> = fields.iter().map(|f| f.trim().to_ascii_lowercase()).collect();
                if names != HEADER {
                    return Err(AirportsError::BadHeader { line });
                }
                saw_header = true;
                continue;
            }
            let airport = parse_record(line, &fields)?;
            if by_iata.contains_key(&airport.iata) {
                return Err(AirportsError::Duplicate { line, iata: airport.iata });
            }
            order.push(airport.iata.clone());
            by_iata.insert(airport.iata.clone(), airport);
        }
        if !saw_header {
            return Err(AirportsError::BadHeader { line: 1 });
        }
        Ok(Airports { by_iata, order })
    }

    /// The airport with this IATA code (case-insensitive).
    pub fn get(&self, iata: &str) -> Option<&Airport> {
        self.by_iata.get(&iata.trim().to_ascii_uppercase())
    }

    pub fn len(&self) -> usize {
        self.by_iata.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_iata.is_empty()
    }

    /// Airports in IATA order.
    pub fn iter(&self) -> impl Iterator<Item = &Airport> {
        self.by_iata.values()
    }

    /// Airports in the order of the file: the busiest first.
    pub fn in_file_order(&self) -> impl Iterator<Item = &Airport> {
        self.order.iter().filter_map(|code| self.by_iata.get(code))
    }
}

fn parse_record(line: usize, fields: &[String]) -> Result<Airport, AirportsError> {
    if fields.len() != 7 {
        return Err(AirportsError::FieldCount { line, found: fields.len() });
    }
    let bad = |field: &'static str, value: &str| AirportsError::BadField {
        line,
        field,
        value: value.to_string(),
    };
    let iata = fields[0].trim().to_string();
    if !is_code(&iata, 3) {
        return Err(bad("IATA code", &iata));
    }
    let icao = fields[1].trim().to_string();
    if !is_code(&icao, 4) {
        return Err(bad("ICAO code", &icao));
    }
    let text = |i: usize, field: &'static str| {
        let v = fields[i].trim();
        if v.is_empty() {
            Err(bad(field, v))
        } else {
            Ok(v.to_string())
        }
    };
    let (name, city, country) = (text(2, "name")?, text(3, "city")?, text(4, "country")?);
    let coordinate = |i: usize, field: &'static str, limit: f64| {
        let v = fields[i].trim();
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x.abs() <= limit => Ok(x),
            _ => Err(bad(field, v)),
        }
    };
    let latitude = coordinate(5, "latitude", 90.0)?;
    let longitude = coordinate(6, "longitude", 180.0)?;
    Ok(Airport {
        iata,
        icao,
        name,
        city,
        country,
        latitude,
        longitude,
    })
}

/// Upper-case ASCII letters (ICAO codes may also hold digits, IATA codes never here).
fn is_code(code: &str, len: usize) -> bool {
    code.len() == len && code.chars().all(|c| c.is_ascii_uppercase() || (len == 4 && c.is_ascii_digit()))
}

fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, in_quotes) {
            ('"', true) if chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            ('"', _) => in_quotes = !in_quotes,
            (',', false) => fields.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    fields.push(current);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_builtin_data_set_parses_and_is_large_enough() {
        let airports = Airports::builtin().expect("data/airports.csv parses");
        assert!(airports.len() >= 300, "only {} airports", airports.len());
    }

    #[test]
    fn icao_codes_are_unique_and_match_the_iata_region() {
        let airports = Airports::builtin().unwrap();
        let mut seen = HashSet::new();
        for a in airports.iter() {
            assert!(seen.insert(a.icao.clone()), "ICAO {} appears twice", a.icao);
            if a.country == "Argentina" {
                assert!(a.icao.starts_with("SA"), "{} {}", a.iata, a.icao);
            }
            if a.country == "United States" && a.latitude < 50.0 && a.longitude > -130.0 {
                assert_eq!(a.icao, format!("K{}", a.iata), "{}", a.iata);
            }
            if a.country == "Canada" {
                assert!(a.icao.starts_with('C'), "{} {}", a.iata, a.icao);
            }
        }
    }

    #[test]
    fn a_sample_of_coordinates_matches_known_values() {
        let airports = Airports::builtin().unwrap();
        let known = [
            ("EZE", -34.82, -58.54),
            ("AEP", -34.56, -58.42),
            ("MAD", 40.47, -3.56),
            ("JFK", 40.64, -73.78),
            ("LHR", 51.47, -0.45),
            ("NRT", 35.76, 140.39),
            ("SYD", -33.95, 151.18),
            ("CDG", 49.01, 2.55),
            ("ATL", 33.64, -84.43),
            ("DXB", 25.25, 55.36),
            ("GRU", -23.43, -46.47),
            ("USH", -54.84, -68.30),
            ("BRC", -41.15, -71.16),
            ("IGR", -25.74, -54.47),
            ("MDZ", -32.83, -68.79),
            ("COR", -31.32, -64.21),
            ("SIN", 1.36, 103.99),
            ("LAX", 33.94, -118.41),
        ];
        for (code, lat, lon) in known {
            let a = airports.get(code).unwrap_or_else(|| panic!("{code} is missing"));
            assert!(
                (a.latitude - lat).abs() <= 0.03 && (a.longitude - lon).abs() <= 0.03,
                "{code}: file has {}, {}; known {lat}, {lon}",
                a.latitude,
                a.longitude
            );
        }
    }

    #[test]
    fn every_argentine_airport_with_scheduled_flights_is_present() {
        let airports = Airports::builtin().unwrap();
        let codes = [
            "AEP", "EZE", "COR", "MDZ", "BRC", "IGR", "USH", "FTE", "SLA", "TUC", "NQN", "ROS", "MDQ", "REL", "CRD", "RGL", "PSS", "JUJ",
            "SDE", "CTC", "RES", "CNQ", "FMA", "LRJ", "UAQ", "SFN", "BHI", "RCU", "EQS", "VDM", "PMY", "CPC", "RGA", "AFA", "RSA", "LUQ",
        ];
        for code in codes {
            let a = airports.get(code).unwrap_or_else(|| panic!("{code} is missing"));
            assert_eq!(a.country, "Argentina", "{code}");
        }
    }

    #[test]
    fn lookups_ignore_case() {
        let airports = Airports::builtin().unwrap();
        assert_eq!(airports.get("eze").map(|a| a.icao.as_str()), Some("SAEZ"));
        assert!(airports.get("ZZZ").is_none());
    }

    #[test]
    fn malformed_rows_are_reported_with_their_line() {
        let header = "iata,icao,name,city,country,latitude,longitude\n";
        let bad_lat = format!("{header}EZE,SAEZ,Ezeiza,Buenos Aires,Argentina,-134.8,-58.5\n");
        assert!(matches!(
            Airports::parse(&bad_lat),
            Err(AirportsError::BadField {
                line: 2,
                field: "latitude",
                ..
            })
        ));
        let dup = format!("{header}EZE,SAEZ,A,B,C,1,2\nEZE,SAEZ,A,B,C,1,2\n");
        assert!(matches!(Airports::parse(&dup), Err(AirportsError::Duplicate { line: 3, .. })));
        let short = format!("{header}EZE,SAEZ,A\n");
        assert!(matches!(
            Airports::parse(&short),
            Err(AirportsError::FieldCount { line: 2, found: 3 })
        ));
        assert!(matches!(Airports::parse("a,b\n"), Err(AirportsError::BadHeader { line: 1 })));
        let lower = format!("{header}eze,SAEZ,A,B,C,1,2\n");
        assert!(matches!(
            Airports::parse(&lower),
            Err(AirportsError::BadField { field: "IATA code", .. })
        ));
    }

    #[test]
    fn quoted_fields_may_hold_commas() {
        let text = "iata,icao,name,city,country,latitude,longitude\nXXX,XXXX,\"Big, Airport\",\"Town \"\"A\"\"\",Land,1.5,2.5\n";
        let airports = Airports::parse(text).unwrap();
        let a = airports.get("XXX").unwrap();
        assert_eq!(a.name, "Big, Airport");
        assert_eq!(a.city, "Town \"A\"");
    }
}
