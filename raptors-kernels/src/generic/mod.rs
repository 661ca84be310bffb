//! Each kernel written once over [`Lanes`](crate::lanes::Lanes); the ISA modules instantiate them.

pub(crate) mod binary;
pub(crate) mod reduce;
