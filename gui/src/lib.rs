//! flight-map: a desktop map of airports, flights and live planes over the `aviation`
//! keyspace, a CQL client of the cluster like any other. Pure parts (model, form,
//! geometry) are separate from drawing (map, panels, app) and from I/O (store, and the
//! worker thread that owns the driver session).

pub mod app;
pub mod form;
pub mod geo;
pub mod land;
pub mod map;
pub mod model;
pub mod panels;
pub mod profile;
pub mod store;
pub mod worker;
