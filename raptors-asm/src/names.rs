//! Comparing function names across tools. A profiler (callgrind, perf) prints demangled names that
//! may still carry Rust's legacy hash (`…::sum_f32::h0123456789abcdef`) and recursion marks
//! (`name'2`); the [`SymbolTable`](crate::SymbolTable) stores demangled names without the hash.
//! [`normalize`] brings both to one form.

/// Drops Rust's legacy mangling hash (`::h` + 16 hex digits at the end); other names unchanged.
pub fn strip_rust_hash(name: &str) -> &str {
    match name.rfind("::h") {
        Some(i) if name.len() - i == 19 && name[i + 3..].chars().all(|c| c.is_ascii_hexdigit()) => {
            &name[..i]
        }
        _ => name,
    }
}

/// Drops a profiler's recursion mark (`FLOAT_pairwise_sum'2` → `FLOAT_pairwise_sum`).
pub fn strip_recursion(name: &str) -> &str {
    match name.rsplit_once('\'') {
        Some((base, depth))
            if !base.is_empty()
                && !depth.is_empty()
                && depth.chars().all(|c| c.is_ascii_digit()) =>
        {
            base
        }
        _ => name,
    }
}

/// The form names are compared in: recursion mark, then Rust hash, removed.
pub fn normalize(name: &str) -> &str {
    strip_rust_hash(strip_recursion(name.trim()))
}

impl crate::symbols::Function {
    /// Whether `name` (as any tool prints it) names this function: its demangled name, raw
    /// name or an alias, compared after [`normalize`].
    pub fn is_named(&self, name: &str) -> bool {
        let want = normalize(name);
        normalize(&self.name) == want
            || self.raw_name == want
            || self.aliases.iter().any(|a| normalize(a) == want)
    }
}

impl crate::symbols::SymbolTable {
    /// Every function named `name` (after [`normalize`]): local functions of several translation
    /// units can share a name, so there may be more than one.
    pub fn named(&self, name: &str) -> Vec<&crate::symbols::Function> {
        self.functions.iter().filter(|f| f.is_named(name)).collect()
    }

    /// The function starting exactly at `address`.
    pub fn at(&self, address: u64) -> Option<&crate::symbols::Function> {
        let i = self.functions.partition_point(|f| f.address < address);
        self.functions.get(i).filter(|f| f.address == address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_recursion_marks() {
        assert_eq!(strip_rust_hash("a::b::h0123456789abcdef"), "a::b");
        assert_eq!(strip_rust_hash("a::b::hello"), "a::b::hello");
        assert_eq!(
            strip_rust_hash("a::b::h0123456789abcdeg"),
            "a::b::h0123456789abcdeg"
        );
        assert_eq!(
            strip_recursion("FLOAT_pairwise_sum'2"),
            "FLOAT_pairwise_sum"
        );
        assert_eq!(strip_recursion("f'x"), "f'x");
        assert_eq!(
            normalize(" raptors_kernels::arch::x86_64::avx2::sum_f32::h0123456789abcdef'3"),
            "raptors_kernels::arch::x86_64::avx2::sum_f32"
        );
    }
}
