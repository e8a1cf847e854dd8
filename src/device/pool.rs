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
#[derive(Default)]
pub(crate) struct BufferPool {
    free: HashMap<u64, Vec<(wgpu::Buffer, u64)>>,
    pub(crate) created: u64,
    /// Bytes held by live tensors, and the most held at once since the last reset.
    pub(crate) live: u64,
    pub(crate) peak: u64,
    /// Bytes of every storage buffer created (live or free in the pool).
    pub(crate) total: u64,
}

impl BufferPool {
    fn take(&mut self, bytes: u64) {
        self.live += bytes;
        self.peak = self.peak.max(self.live);
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
    /// Bytes of every storage buffer created, held or waiting in the pool.
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

    /// A new storage buffer, outside the pool and its accounting.
    pub(crate) fn create_storage(&self, bytes: u64) -> Result<wgpu::Buffer> {
        self.check_lost()?;
        self.scoped(|| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("wgcnn tensor"),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::UNIFORM
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
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
            if let Some(list) = pool.free.get_mut(&class)
                && let Some(i) = list
                    .iter()
                    .rposition(|(_, released)| !for_upload || *released < epoch)
            {
                let buffer = list.swap_remove(i).0;
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

    /// Returns a tensor's buffer to the pool.
    pub(crate) fn release(&self, buffer: wgpu::Buffer) {
        let epoch = self.epoch.load(Ordering::Relaxed);
        let mut pool = self.pool();
        pool.live -= buffer.size();
        pool.free
            .entry(buffer.size())
            .or_default()
            .push((buffer, epoch));
    }
}
