//! Recording: every dispatch and copy goes into one pending command encoder, with its
//! uniforms in an arena, until a read or [`crate::Device::sync`] submits them all as
//! one command buffer.

use std::sync::atomic::Ordering;

use super::gpu::{Gpu, lock};
use super::pipeline::Pipeline;
use crate::error::{Error, Result};

/// The host-side mirror of every uniform struct is a plain byte blob at recording time.
const UNIFORM_CHUNK: u64 = 64 * 1024;

/// Uniforms of the commands recorded since the last submit. Each dispatch takes its own
/// aligned slice of a chunk; the chunks are written with `write_buffer` just before the
/// submit, so they land after the previous submission's commands and before this one's.
#[derive(Default)]
pub(super) struct UniformArena {
    chunks: Vec<(wgpu::Buffer, Vec<u8>)>,
    used: usize,
}

pub(super) struct Pending {
    pub(super) encoder: Option<wgpu::CommandEncoder>,
    pub(super) pass: Option<wgpu::ComputePass<'static>>,
    pub(super) uniforms: UniformArena,
    /// Timestamp queries written so far while timing (two per compute pass).
    pub(super) timing: Option<u32>,
    /// The estimated work recorded since the last submit.
    pub(super) cost: u64,
}

/// A binding window into an f32 buffer: byte offset, byte size, and the shift in
/// elements of the window's first element within it.
pub(crate) type Window = (u64, u64, u32);

/// A storage buffer from a byte offset on: a tensor's storage, which may be a slice of
/// a larger buffer (a producer writing straight into its part of a concatenation).
/// Every binding, copy, clear and read through it is shifted by `base`, so kernels
/// address it from zero.
#[derive(Clone, Copy)]
pub(crate) struct Buf<'a> {
    raw: &'a wgpu::Buffer,
    base: u64,
}

impl<'a> Buf<'a> {
    /// `raw` from byte `base` on (`base` a multiple of the device's storage alignment).
    pub(crate) fn new(raw: &'a wgpu::Buffer, base: u64) -> Self {
        Self { raw, base }
    }
}

impl<'a> From<&'a wgpu::Buffer> for Buf<'a> {
    fn from(raw: &'a wgpu::Buffer) -> Self {
        Self { raw, base: 0 }
    }
}

/// One storage binding of a dispatch: `buffer[offset..offset + size]` at `binding`.
#[derive(Clone, Copy)]
pub(crate) struct Bind<'a> {
    pub binding: u32,
    pub buffer: &'a wgpu::Buffer,
    pub offset: u64,
    pub size: u64,
}

impl<'a> Bind<'a> {
    /// `buffer[offset..offset + size]` (bytes) at `binding`.
    pub(crate) fn at(binding: u32, buffer: impl Into<Buf<'a>>, offset: u64, size: u64) -> Self {
        let buffer = buffer.into();
        Self {
            binding,
            buffer: buffer.raw,
            offset: buffer.base + offset,
            size,
        }
    }
}

/// The workgroup counts of a dispatch: given, or read by the device from a buffer
/// that earlier commands wrote.
enum Groups<'a> {
    Direct([u32; 3]),
    Indirect(Buf<'a>, u64),
}

impl Gpu {
    /// Records one dispatch into the pending encoder.
    pub(crate) fn dispatch(
        &self,
        pipeline: &Pipeline,
        binds: &[Bind<'_>],
        uniform: &[u8],
        groups: [u32; 3],
    ) -> Result<()> {
        self.record_dispatch(pipeline, binds, uniform, Groups::Direct(groups))
    }

    /// Records one dispatch whose workgroup counts (three u32: x, y, z) the device
    /// reads from `args` at byte `offset` when it runs, as earlier commands left them:
    /// so a kernel may size (or skip, with a zero count) later work without a readback.
    /// `args` must be a storage buffer of this device (they all allow indirect use).
    pub(crate) fn dispatch_indirect(
        &self,
        pipeline: &Pipeline,
        binds: &[Bind<'_>],
        uniform: &[u8],
        args: Buf<'_>,
        offset: u64,
    ) -> Result<()> {
        if !self.indirect {
            return Err(Error::Unsupported(
                "this adapter cannot read workgroup counts from a buffer".into(),
            ));
        }
        self.record_dispatch(pipeline, binds, uniform, Groups::Indirect(args, offset))
    }

    fn record_dispatch(
        &self,
        pipeline: &Pipeline,
        binds: &[Bind<'_>],
        uniform: &[u8],
        groups: Groups<'_>,
    ) -> Result<()> {
        self.check_lost()?;
        for b in binds {
            if b.size > self.max_binding {
                return Err(Error::Limit {
                    op: "device",
                    what: "storage binding size",
                    requested: b.size,
                    limit: self.max_binding,
                });
            }
        }
        let _ctx = self.context();
        let mut pending = lock(&self.pending);
        let (ubuf_index, uoffset) = self.push_uniform(&mut pending.uniforms, uniform);
        let ubuf = &pending.uniforms.chunks[ubuf_index].0;
        let mut entries: Vec<wgpu::BindGroupEntry<'_>> = binds
            .iter()
            .map(|b| wgpu::BindGroupEntry {
                binding: b.binding,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: b.buffer,
                    offset: b.offset,
                    size: wgpu::BufferSize::new(b.size),
                }),
            })
            .collect();
        if let Some(binding) = pipeline.uniform_binding {
            entries.push(wgpu::BindGroupEntry {
                binding,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: ubuf,
                    offset: uoffset,
                    size: wgpu::BufferSize::new(uniform.len().max(16) as u64),
                }),
            });
        }
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(pipeline.label),
            layout: &pipeline.layout,
            entries: &entries,
        });
        let pass = self.pass(&mut pending);
        pass.set_pipeline(&pipeline.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        match groups {
            Groups::Direct([x, y, z]) => pass.dispatch_workgroups(x, y, z),
            Groups::Indirect(args, offset) => {
                pass.dispatch_workgroups_indirect(args.raw, args.base + offset);
            }
        }
        Ok(())
    }

    /// Copies `size` bytes between storage buffers, in recording order.
    pub(crate) fn copy<'a, 'b>(
        &self,
        src: impl Into<Buf<'a>>,
        src_offset: u64,
        dst: impl Into<Buf<'b>>,
        dst_offset: u64,
        size: u64,
    ) -> Result<()> {
        let (src, dst) = (src.into(), dst.into());
        self.check_lost()?;
        let _ctx = self.context();
        let mut pending = lock(&self.pending);
        self.encoder(&mut pending).copy_buffer_to_buffer(
            src.raw,
            src.base + src_offset,
            dst.raw,
            dst.base + dst_offset,
            size,
        );
        Ok(())
    }

    /// Zeroes `size` bytes of `buffer` from `offset`, in recording order.
    pub(crate) fn clear(&self, buffer: Buf<'_>, offset: u64, size: u64) -> Result<()> {
        self.check_lost()?;
        let _ctx = self.context();
        let mut pending = lock(&self.pending);
        self.encoder(&mut pending)
            .clear_buffer(buffer.raw, buffer.base + offset, Some(size));
        Ok(())
    }

    /// A pool buffer of at least `bytes` that reads as zeros to every command recorded
    /// after this call: cleared on the device, in recording order, from no host data.
    pub(crate) fn zeros(&self, bytes: u64) -> Result<wgpu::Buffer> {
        self.check_lost()?;
        let _ctx = self.context();
        let buffer = self.alloc(bytes, false)?;
        let mut pending = lock(&self.pending);
        self.encoder(&mut pending).clear_buffer(&buffer, 0, None);
        Ok(buffer)
    }

    fn push_uniform(&self, arena: &mut UniformArena, data: &[u8]) -> (usize, u64) {
        let len = (data.len().max(16) as u64).div_ceil(self.uniform_align) * self.uniform_align;
        loop {
            let chunk = arena.used;
            if chunk == arena.chunks.len() {
                let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("wgcnn uniforms"),
                    size: UNIFORM_CHUNK,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                arena
                    .chunks
                    .push((buffer, Vec::with_capacity(UNIFORM_CHUNK as usize)));
            }
            let host = &mut arena.chunks[chunk].1;
            let offset = host.len() as u64;
            if offset + len <= UNIFORM_CHUNK {
                host.extend_from_slice(data);
                host.resize((offset + len) as usize, 0);
                return (chunk, offset);
            }
            arena.used += 1;
        }
    }

    pub(super) fn encoder<'p>(&self, pending: &'p mut Pending) -> &'p mut wgpu::CommandEncoder {
        pending.pass = None;
        pending.encoder.get_or_insert_with(|| {
            self.device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("wgcnn"),
                })
        })
    }

    fn pass<'p>(&self, pending: &'p mut Pending) -> &'p mut wgpu::ComputePass<'static> {
        if pending.pass.is_none() {
            let writes = self.timestamp_writes(pending);
            let encoder = self.encoder(pending);
            let pass = encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("wgcnn"),
                    timestamp_writes: writes,
                })
                .forget_lifetime();
            pending.pass = Some(pass);
        }
        pending.pass.as_mut().expect("pass was just created")
    }

    /// The estimated work recorded since the last submit.
    pub(crate) fn pending_cost(&self) -> u64 {
        lock(&self.pending).cost
    }

    /// Adds `cost` to the work recorded since the last submit.
    pub(crate) fn add_pending_cost(&self, cost: u64) {
        let mut pending = lock(&self.pending);
        pending.cost = pending.cost.saturating_add(cost);
    }

    /// Submits everything recorded so far as one command buffer.
    pub(crate) fn flush(&self) -> Result<()> {
        self.check_lost()?;
        let _ctx = self.context();
        let mut pending = lock(&self.pending);
        pending.pass = None;
        pending.cost = 0;
        let Some(encoder) = pending.encoder.take() else {
            return self.take_uncaptured();
        };
        let arena = &mut pending.uniforms;
        for (buffer, host) in arena.chunks.iter_mut() {
            if !host.is_empty() {
                self.queue.write_buffer(buffer, 0, host);
                host.clear();
            }
        }
        arena.used = 0;
        let result = self.scoped(|| {
            self.queue.submit([encoder.finish()]);
        });
        self.epoch.fetch_add(1, Ordering::Relaxed);
        self.submits.fetch_add(1, Ordering::Relaxed);
        drop(pending);
        result?;
        self.take_uncaptured()
    }

    /// Waits until the device is idle.
    pub(crate) fn wait(&self) -> Result<()> {
        let _ctx = self.context();
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(drop)
            .map_err(|e| Error::Backend(e.to_string()))?;
        self.check_lost()
    }
}
