//! A replay of ggml's graph allocator (`ggml-alloc.c`) over a sketch of the compute graph.
//!
//! llama.cpp sizes its compute buffers by *reserving* a worst-case graph: ggml-alloc walks the nodes in
//! order, gives each a block from a best-fit free list (reusing a parent's block in place when the op allows
//! and the parent has no other consumer), frees a tensor after its last consumer, never frees graph outputs,
//! and reports the high-water mark. The buffer size is that mark, so the same walk over the same tensor sizes
//! predicts it. This module is the allocator and the walk; [`super::graph`] builds the node list.

use super::Device;

/// One tensor of the sketched graph.
#[derive(Clone, Debug)]
pub struct Node {
    /// Bytes (`ggml_nbytes`); 0 for views (no allocation).
    pub size: u64,
    /// Device whose compute buffer holds it.
    pub device: Device,
    /// Producer nodes it reads (weights and KV-cache views are external and not listed).
    pub srcs: Vec<usize>,
    /// The op may run in place on a same-sized parent (`ggml_op_can_inplace`).
    pub inplace: bool,
    /// A graph input (allocated before any op).
    pub input: bool,
    /// A graph output (never freed).
    pub output: bool,
    /// A view (`set_rows` into the cache): consumes its sources, allocates nothing.
    pub view: bool,
}

/// ggml's `ggml_dyn_tallocr` for one buffer: free blocks sorted by offset, the last one unbounded.
#[derive(Debug)]
struct DynAlloc {
    align: u64,
    /// (offset, size); the last block extends to "infinity" (`u64::MAX / 2`).
    free: Vec<(u64, u64)>,
    max_size: u64,
}

impl DynAlloc {
    fn new(align: u64) -> Self {
        Self {
            align,
            free: vec![(0, u64::MAX / 2)],
            max_size: 0,
        }
    }

    fn aligned(&self, size: u64) -> u64 {
        size.div_ceil(self.align) * self.align
    }

    fn alloc(&mut self, size: u64) -> u64 {
        let size = self.aligned(size);
        let last = self.free.len() - 1;
        // best fit among all blocks but the last
        let mut best: Option<usize> = None;
        let mut best_size = u64::MAX;
        for (i, &(_, s)) in self.free[..last].iter().enumerate() {
            if s >= size && s <= best_size {
                best = Some(i);
                best_size = s;
            }
        }
        let i = best.unwrap_or(last);
        let offset = self.free[i].0;
        self.free[i].0 += size;
        self.free[i].1 -= size;
        if self.free[i].1 == 0 && i != self.free.len() - 1 {
            self.free.remove(i);
        }
        self.max_size = self.max_size.max(offset + size);
        offset
    }

    fn free(&mut self, offset: u64, size: u64) {
        let size = self.aligned(size);
        for i in 0..self.free.len() {
            let (bo, bs) = self.free[i];
            if bo + bs == offset {
                self.free[i].1 += size;
                if i + 1 < self.free.len() && self.free[i].0 + self.free[i].1 == self.free[i + 1].0
                {
                    self.free[i].1 += self.free[i + 1].1;
                    self.free.remove(i + 1);
                }
                return;
            }
            if offset + size == bo {
                self.free[i].0 = offset;
                self.free[i].1 += size;
                if i > 0 && self.free[i - 1].0 + self.free[i - 1].1 == self.free[i].0 {
                    self.free[i - 1].1 += self.free[i].1;
                    self.free.remove(i);
                }
                return;
            }
        }
        let pos = self
            .free
            .iter()
            .position(|&(o, _)| o > offset)
            .unwrap_or(self.free.len());
        self.free.insert(pos, (offset, size));
    }
}

/// Peak bytes per device: `[cpu, gpu]`.
pub fn simulate(nodes: &[Node], cpu_align: u64, gpu_align: u64) -> [u64; 2] {
    let mut allocs = [DynAlloc::new(cpu_align), DynAlloc::new(gpu_align)];
    let dev = |d: Device| match d {
        Device::Cpu => 0,
        Device::Gpu => 1,
    };
    let mut children = vec![0u32; nodes.len()];
    for n in nodes {
        for &s in &n.srcs {
            children[s] += 1;
        }
    }
    // offset of an allocated tensor, or None (not allocated, freed, or handed to an in-place child)
    let mut addr: Vec<Option<u64>> = vec![None; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        if n.input && n.size > 0 {
            addr[i] = Some(allocs[dev(n.device)].alloc(n.size));
        }
    }
    for (i, n) in nodes.iter().enumerate() {
        if !n.input && !n.view && n.size > 0 {
            let mut placed = None;
            if n.inplace {
                for &s in &n.srcs {
                    let p = &nodes[s];
                    if let Some(off) = addr[s] {
                        if !p.output && p.size == n.size && p.device == n.device && children[s] == 1
                        {
                            placed = Some(off);
                            addr[s] = None; // the child owns the block now
                            break;
                        }
                    }
                }
            }
            addr[i] = Some(placed.unwrap_or_else(|| allocs[dev(n.device)].alloc(n.size)));
        }
        for &s in &n.srcs {
            children[s] -= 1;
            if children[s] == 0 && !nodes[s].output {
                if let Some(off) = addr[s].take() {
                    allocs[dev(nodes[s].device)].free(off, nodes[s].size);
                }
            }
        }
    }
    [allocs[0].max_size, allocs[1].max_size]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn node(size: u64, srcs: &[usize], inplace: bool) -> Node {
        Node {
            size,
            device: Device::Cpu,
            srcs: srcs.to_vec(),
            inplace,
            input: false,
            output: false,
            view: false,
        }
    }

    #[test]
    fn chain_reuses_memory() {
        // a -> b -> c, each 100 bytes, not in place: at most two live at once
        let nodes = vec![
            node(100, &[], false),
            node(100, &[0], false),
            node(100, &[1], false),
        ];
        assert_eq!(simulate(&nodes, 1, 1)[0], 200);
        // in place: one block
        let nodes = vec![
            node(100, &[], false),
            node(100, &[0], true),
            node(100, &[1], true),
        ];
        assert_eq!(simulate(&nodes, 1, 1)[0], 100);
    }

    #[test]
    fn outputs_are_never_freed_and_big_tensors_go_to_the_end() {
        let mut out = node(1000, &[1], false);
        out.output = true;
        let nodes = vec![
            node(10, &[], false),
            node(10, &[0], false),
            out,
            node(10, &[2], false),
        ];
        // 10 (a, freed after b) ; b at 10; out at 20..1020 (no free block of 1000) ; last reuses a's hole
        assert_eq!(simulate(&nodes, 1, 1)[0], 1020);
    }
}
