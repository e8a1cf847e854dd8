//! GPU timing for [`crate::Device::time_gpu`]: while timing, each compute pass writes a
//! timestamp at its start and end, and the sum of the passes' spans is read back.

use super::gpu::{Gpu, lock};
use super::record::Pending;
use crate::error::{Error, Result};

const TIMER_QUERIES: u32 = 256;

/// A query set, the buffer it resolves into, and a mappable copy.
pub(super) struct Timer {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
}

impl Timer {
    pub(super) fn new(device: &wgpu::Device) -> Self {
        Self {
            set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("wgcnn timer"),
                ty: wgpu::QueryType::Timestamp,
                count: TIMER_QUERIES,
            }),
            resolve: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("wgcnn timer resolve"),
                size: u64::from(TIMER_QUERIES) * 8,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            readback: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("wgcnn timer readback"),
                size: u64::from(TIMER_QUERIES) * 8,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
        }
    }
}

impl Gpu {
    /// The timestamp writes of a new compute pass: a start and an end query while
    /// timing, none otherwise.
    pub(super) fn timestamp_writes<'t>(
        &'t self,
        pending: &mut Pending,
    ) -> Option<wgpu::ComputePassTimestampWrites<'t>> {
        match (&self.timer, pending.timing) {
            (Some(timer), Some(used)) if used + 2 <= TIMER_QUERIES => {
                pending.timing = Some(used + 2);
                Some(wgpu::ComputePassTimestampWrites {
                    query_set: &timer.set,
                    beginning_of_pass_write_index: Some(used),
                    end_of_pass_write_index: Some(used + 1),
                })
            }
            _ => None,
        }
    }

    /// Starts timing the compute passes recorded from now on; `false` without
    /// timestamp queries.
    pub(crate) fn begin_timing(&self) -> Result<bool> {
        if self.timer.is_none() {
            return Ok(false);
        }
        self.flush()?;
        lock(&self.pending).timing = Some(0);
        Ok(true)
    }

    /// Submits, waits, and returns the GPU time of the passes recorded since
    /// [`Gpu::begin_timing`], in milliseconds.
    pub(crate) fn end_timing(&self) -> Result<Option<f64>> {
        let Some(timer) = &self.timer else {
            return Ok(None);
        };
        let _ctx = self.context();
        let used = {
            let mut pending = lock(&self.pending);
            let used = pending.timing.take().unwrap_or(0);
            if used > 0 {
                let encoder = self.encoder(&mut pending);
                encoder.resolve_query_set(&timer.set, 0..used, &timer.resolve, 0);
                encoder.copy_buffer_to_buffer(
                    &timer.resolve,
                    0,
                    &timer.readback,
                    0,
                    u64::from(used) * 8,
                );
            }
            used
        };
        self.flush()?;
        if used == 0 {
            self.wait()?;
            return Ok(Some(0.0));
        }
        let size = u64::from(used) * 8;
        let (tx, rx) = futures_intrusive::channel::shared::oneshot_channel();
        timer
            .readback
            .map_async(wgpu::MapMode::Read, 0..size, move |r| {
                tx.send(r).ok();
            });
        self.wait()?;
        if !matches!(pollster::block_on(rx.receive()), Some(Ok(()))) {
            return Err(Error::Backend("reading timestamps failed".into()));
        }
        let ticks: Vec<u64> = {
            let view = timer
                .readback
                .get_mapped_range(0..size)
                .map_err(|e| Error::Backend(format!("reading timestamps failed: {e}")))?;
            bytemuck::pod_collect_to_vec(&view)
        };
        timer.readback.unmap();
        let period_ns = f64::from(self.queue.get_timestamp_period());
        let total: u64 = ticks.chunks(2).map(|p| p[1].saturating_sub(p[0])).sum();
        Ok(Some(total as f64 * period_ns / 1e6))
    }
}
