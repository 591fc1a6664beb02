//! The typed arguments of every C function of the SQL API, one struct per function, generated
//! by build.rs from the function's declaration beside its body in src/api/ (see build.rs).

include!(concat!(env!("OUT_DIR"), "/sql_args.rs"));
