//! HA (work in progress): the replicated store.
