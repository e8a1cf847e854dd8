//! The storage-buffer pool: buffers bucketed by size class and reused once their
//! tensor drops, with the accounting [`crate::Device::memory`] reports.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use super::gpu::{Gpu, lock};
use crate::error::{Error, Result};

/// Free storage buffers by size class. A buffer released while commands that use it
/// are still unsubmitted may be reused at once by later commands in the same encoder
/// (the queue runs them in order, and wgpu inserts the barriers), but not as the target
/// of `queue.write_buffer`, which runs at the start of the next submit: so each free
/// buffer remembers the epoch (submit count) in which it was released.
///
/// The free buffers are bounded: past [`BufferPool::keep`] bytes (the larger of
/// [`KEEP_MIN`] and the most bytes live tensors ever held), the buffers released
/// longest ago are destroyed. A loop over one network reuses its buffers pass after
/// pass; inputs that keep changing size leave stale sizes behind, which this drops.
#[derive(Default)]
pub(crate) struct BufferPool {
    free: HashMap<u64, Vec<(wgpu::Buffer, u64)>>,
    /// Bytes of the free buffers.
    free_bytes: u64,
    pub(crate) created: u64,
    /// Bytes held by live tensors, and the most held at once since the last reset.
    pub(crate) live: u64,
    pub(crate) peak: u64,
    /// The most bytes live tensors held at once since the pool was last trimmed.
    high_water: u64,
    /// Bytes of every storage buffer alive (held by a tensor or free in the pool).
    pub(crate) total: u64,
}

/// Free bytes a pool keeps whatever its tensors' high water.
pub(crate) const KEEP_MIN: u64 = 64 << 20;

impl BufferPool {
    fn take(&mut self, bytes: u64) {
        self.live += bytes;
        self.peak = self.peak.max(self.live);
        self.high_water = self.high_water.max(self.live);
    }

    /// Free bytes kept before the oldest free buffers are destroyed.
    fn keep(&self) -> u64 {
        KEEP_MIN.max(self.high_water)
    }

    /// A free buffer of `class` (released before `epoch` when `for_upload`).
    fn reuse(&mut self, class: u64, for_upload: bool, epoch: u64) -> Option<wgpu::Buffer> {
        let list = self.free.get_mut(&class)?;
        let i = list
            .iter()
            .rposition(|(_, released)| !for_upload || *released < epoch)?;
        let buffer = list.swap_remove(i).0;
        self.free_bytes -= class;
        Some(buffer)
    }

    /// Destroys the free buffers released longest ago until at most `keep` bytes of
    /// free buffers remain.
    fn shrink_to(&mut self, keep: u64) {
        while self.free_bytes > keep {
            let oldest = self
                .free
                .iter()
                .flat_map(|(class, list)| {
                    list.iter().enumerate().map(move |(i, b)| (b.1, *class, i))
                })
                .min();
            let Some((_, class, i)) = oldest else {
                break;
            };
            let list = self.free.get_mut(&class).expect("the class was just found");
            let (buffer, _) = list.swap_remove(i);
            if list.is_empty() {
                self.free.remove(&class);
            }
            // dropped, not destroyed: wgpu frees it once no recorded command uses it
            drop(buffer);
            self.free_bytes -= class;
            self.total -= class;
        }
    }
}

/// How much device memory a device's tensors use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Bytes held by live tensors now.
    pub live_bytes: u64,
    /// The most bytes live tensors held at once since the last
    /// [`crate::Device::reset_peak_memory`].
    pub peak_bytes: u64,
    /// Bytes of every storage buffer alive, held by a tensor or free in the pool (which
    /// keeps at most the larger of 64 MiB and the live high water free; see
    /// [`crate::Device::trim`]).
    pub pool_bytes: u64,
}

/// Storage buffer sizes are rounded up to one of eight classes per power of two, so a
/// freed buffer serves any later request of nearly the same size.
pub(super) fn size_class(bytes: u64) -> u64 {
    let bytes = bytes.max(256);
    let granule = (1u64 << (63 - bytes.leading_zeros())) / 8;
    bytes.div_ceil(granule) * granule
}

impl Gpu {
    pub(crate) fn pool(&self) -> std::sync::MutexGuard<'_, BufferPool> {
        lock(&self.pool)
    }

    /// A new storage buffer, outside the pool and its accounting (also usable as
    /// uniform, copy source and target, and, where the adapter has indirect
    /// dispatches, as the workgroup counts of [`Gpu::dispatch_indirect`]).
    pub(crate) fn create_storage(&self, bytes: u64) -> Result<wgpu::Buffer> {
        self.check_lost()?;
        let mut usage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::UNIFORM
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST;
        if self.indirect {
            usage |= wgpu::BufferUsages::INDIRECT;
        }
        self.scoped(|| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("wgcnn tensor"),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        })
    }

    /// A storage buffer of at least `bytes` from the pool. With `for_upload`, only a
    /// buffer that no unsubmitted command uses (see [`BufferPool`]).
    pub(crate) fn alloc(&self, bytes: u64, for_upload: bool) -> Result<wgpu::Buffer> {
        if bytes > self.max_buffer {
            return Err(Error::Limit {
                op: "device",
                what: "buffer size",
                requested: bytes,
                limit: self.max_buffer,
            });
        }
        let class = size_class(bytes).min(self.max_buffer.max(bytes));
        let epoch = self.epoch.load(Ordering::Relaxed);
        {
            let mut pool = self.pool();
            if let Some(buffer) = pool.reuse(class, for_upload, epoch) {
                pool.take(class);
                return Ok(buffer);
            }
        }
        let buffer = self.create_storage(class)?;
        let mut pool = self.pool();
        pool.created += 1;
        pool.total += class;
        pool.take(class);
        Ok(buffer)
    }

    /// Returns a tensor's buffer to the pool, destroying the oldest free buffers past
    /// the pool's bound.
    pub(crate) fn release(&self, buffer: wgpu::Buffer) {
        let epoch = self.epoch.load(Ordering::Relaxed);
        let _ctx = self.context();
        let mut pool = self.pool();
        let size = buffer.size();
        pool.live -= size;
        pool.free_bytes += size;
        pool.free.entry(size).or_default().push((buffer, epoch));
        let keep = pool.keep();
        pool.shrink_to(keep);
    }

    /// Destroys every free buffer of the pool and every staging buffer, and starts the
    /// live high water again from what is live now.
    pub(crate) fn trim(&self) {
        let _ctx = self.context();
        {
            let mut pool = self.pool();
            pool.shrink_to(0);
            pool.high_water = pool.live;
        }
        lock(&self.staging).clear();
    }
}
