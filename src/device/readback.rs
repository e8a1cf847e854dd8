//! Transfers between host and device: uploads into pool buffers, and reads through
//! pooled staging buffers after everything recorded before them.

use super::gpu::{Gpu, lock};
use super::pool::size_class;
use super::record::Buf;
use crate::error::{Error, Result};

/// Bytes of staging buffers kept for later reads (besides the one just used).
const STAGING_KEEP: u64 = 64 << 20;

impl Gpu {
    /// Reads `size` bytes of `buffer` from `offset`, after everything recorded so far.
    pub(crate) fn read(&self, buffer: Buf<'_>, offset: u64, size: u64) -> Result<Vec<u8>> {
        if size == 0 {
            return Ok(Vec::new());
        }
        let _ctx = self.context();
        let class = size_class(size);
        let staging = match lock(&self.staging).get_mut(&class).and_then(Vec::pop) {
            Some(b) => b,
            None => self.scoped(|| {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("wgcnn readback"),
                    size: class,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            })?,
        };
        self.copy(buffer, offset, &staging, 0, size)?;
        self.flush()?;
        let (tx, rx) = futures_intrusive::channel::shared::oneshot_channel();
        staging.map_async(wgpu::MapMode::Read, 0..size, move |r| {
            tx.send(r).ok();
        });
        self.wait()?;
        match pollster::block_on(rx.receive()) {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(Error::Backend(format!("readback failed: {e}"))),
            None => return Err(Error::Backend("readback was cancelled".into())),
        }
        let bytes = staging
            .get_mapped_range(0..size)
            .map_err(|e| Error::Backend(format!("readback failed: {e}")))?
            .to_vec();
        staging.unmap();
        let mut pool = lock(&self.staging);
        pool.entry(class).or_default().push(staging);
        // staging buffers of sizes no longer read go, the largest first
        while pool.values().flatten().map(wgpu::Buffer::size).sum::<u64>() > STAGING_KEEP {
            let Some(&largest) = pool.keys().filter(|&&c| c != class).max() else {
                break;
            };
            pool.remove(&largest);
        }
        Ok(bytes)
    }

    /// Uploads `data` into a pool buffer that no unsubmitted command uses.
    pub(crate) fn upload(&self, data: &[u8]) -> Result<wgpu::Buffer> {
        self.check_lost()?;
        let _ctx = self.context();
        let buffer = self.alloc(data.len() as u64, true)?;
        self.queue.write_buffer(&buffer, 0, data);
        Ok(buffer)
    }
}
