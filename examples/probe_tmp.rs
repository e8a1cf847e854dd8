use std::time::Instant;
fn main() {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::VULKAN));
    let adapter = &adapters[0];
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor { label: None, required_features: wgpu::Features::empty(), required_limits: adapter.limits(), experimental_features: wgpu::ExperimentalFeatures::disabled(), memory_hints: wgpu::MemoryHints::Performance, trace: wgpu::Trace::Off })).unwrap();
    let n_inv: u32 = 65536; let k: u32 = 256;
    let src = r#"
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@group(0) @binding(2) var<uniform> u: array<vec4<f32>, 4096>;
@compute @workgroup_size(64)
fn uniform_ssbo(@builtin(global_invocation_id) g: vec3<u32>, @builtin(workgroup_id) w: vec3<u32>) {
  var acc = 0.0; let base = w.x * 4u;
  for (var k = 0u; k < 256u; k++) { acc = fma(a[base + k], acc, 1.0); }
  o[g.x] = acc;
}
@compute @workgroup_size(64)
fn divergent_ssbo(@builtin(global_invocation_id) g: vec3<u32>) {
  var acc = 0.0;
  for (var k = 0u; k < 256u; k++) { acc = fma(a[g.x + k * 64u], acc, 1.0); }
  o[g.x] = acc;
}
@compute @workgroup_size(64)
fn uniform_ubo(@builtin(global_invocation_id) g: vec3<u32>, @builtin(workgroup_id) w: vec3<u32>) {
  var acc = 0.0;
  for (var k = 0u; k < 256u; k++) { acc = fma(u[k].x, acc, 1.0); }
  o[g.x] = acc;
}
@compute @workgroup_size(64)
fn divergent_vec4(@builtin(global_invocation_id) g: vec3<u32>) {
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < 64u; k++) { let i = (g.x + k * 64u) * 4u; acc = fma(vec4<f32>(a[i], a[i+1u], a[i+2u], a[i+3u]), acc, vec4<f32>(1.0)); }
  o[g.x] = acc.x + acc.y + acc.z + acc.w;
}
@group(0) @binding(3) var<storage, read> a4: array<vec4<f32>>;
@compute @workgroup_size(64)
fn divergent_vec4_load(@builtin(global_invocation_id) g: vec3<u32>) {
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < 64u; k++) { acc = fma(a4[g.x + k * 64u], acc, vec4<f32>(1.0)); }
  o[g.x] = acc.x + acc.y + acc.z + acc.w;
}
@group(0) @binding(4) var tex: texture_2d<f32>;
@compute @workgroup_size(64)
fn divergent_tex(@builtin(global_invocation_id) g: vec3<u32>) {
  var acc = 0.0;
  for (var k = 0u; k < 256u; k++) { let i = g.x + k * 64u; acc = fma(textureLoad(tex, vec2<u32>(i & 1023u, (i >> 10u) & 1023u), 0).x, acc, 1.0); }
  o[g.x] = acc;
}
@compute @workgroup_size(64)
fn divergent_ubo(@builtin(global_invocation_id) g: vec3<u32>) {
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < 256u; k++) { acc = fma(u[(g.x + k * 7u) & 4095u], acc, vec4<f32>(1.0)); }
  o[g.x] = acc.x;
}
@compute @workgroup_size(64)
fn phi_ubo(@builtin(global_invocation_id) g: vec3<u32>) {
  var acc = vec4<f32>(0.0);
  let n = u32(u[4095].x) + 256u;
  for (var k = 0u; k < n; k++) { acc = fma(u[k & 4095u], acc, vec4<f32>(1.0)); }
  o[g.x] = acc.x;
}
@compute @workgroup_size(64)
fn phi_ubo4(@builtin(global_invocation_id) g: vec3<u32>) {
  var acc = vec4<f32>(0.0);
  let n = u32(u[4095].x) + 64u;
  var t = 0u;
  for (var k = 0u; k < n; k++) { acc = fma(u[t], acc, vec4<f32>(1.0)) + fma(u[t+1u], acc, vec4<f32>(1.0)) + fma(u[t+2u], acc, vec4<f32>(1.0)) + fma(u[t+3u], acc, vec4<f32>(1.0)); t += 4u; }
  o[g.x] = acc.x;
}
@compute @workgroup_size(64)
fn alu_only(@builtin(global_invocation_id) g: vec3<u32>) {
  var acc = f32(g.x);
  for (var k = 0u; k < 256u; k++) { acc = fma(acc, 1.0001, 0.5); }
  o[g.x] = acc;
}
"#;
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor { label: None, source: wgpu::ShaderSource::Wgsl(src.into()) });
    let a = device.create_buffer(&wgpu::BufferDescriptor { label: None, size: 64 << 20, usage: wgpu::BufferUsages::STORAGE, mapped_at_creation: false });
    let o = device.create_buffer(&wgpu::BufferDescriptor { label: None, size: (n_inv * 4) as u64, usage: wgpu::BufferUsages::STORAGE, mapped_at_creation: false });
    let u = device.create_buffer(&wgpu::BufferDescriptor { label: None, size: 65536, usage: wgpu::BufferUsages::UNIFORM, mapped_at_creation: false });
    let tex = device.create_texture(&wgpu::TextureDescriptor { label: None, size: wgpu::Extent3d { width: 1024, height: 1024, depth_or_array_layers: 1 }, mip_level_count: 1, sample_count: 1, dimension: wgpu::TextureDimension::D2, format: wgpu::TextureFormat::R32Float, usage: wgpu::TextureUsages::TEXTURE_BINDING, view_formats: &[] });
    let view = tex.create_view(&Default::default());
    for entry in ["alu_only", "uniform_ssbo", "divergent_ssbo", "uniform_ubo", "divergent_vec4", "divergent_vec4_load", "divergent_tex", "divergent_ubo", "phi_ubo", "phi_ubo4"] {
        let p = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor { label: None, layout: None, module: &module, entry_point: Some(entry), compilation_options: Default::default(), cache: None });
        let bgl = p.get_bind_group_layout(0);
        let mut entries = vec![];
        let used: Vec<u32> = match entry { "uniform_ubo" => vec![1, 2], "alu_only" => vec![1], "divergent_vec4_load" => vec![3, 1], "divergent_tex" => vec![4, 1], "divergent_ubo" | "phi_ubo" | "phi_ubo4" => vec![1, 2], _ => vec![0, 1] };
        for b in used { entries.push(wgpu::BindGroupEntry { binding: b, resource: match b { 0 | 3 => a.as_entire_binding(), 1 => o.as_entire_binding(), 4 => wgpu::BindingResource::TextureView(&view), _ => u.as_entire_binding() } }); }
        let bg = device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &bgl, entries: &entries });
        let mut best = f64::MAX;
        for _ in 0..5 {
            let mut enc = device.create_command_encoder(&Default::default());
            { let mut pass = enc.begin_compute_pass(&Default::default()); pass.set_pipeline(&p); pass.set_bind_group(0, &bg, &[]); pass.dispatch_workgroups(n_inv / 64, 1, 1); }
            let t = Instant::now(); queue.submit([enc.finish()]); device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("{entry:16} {:.2} ms  {:.2} ns per iteration per invocation", best * 1e3, best * 1e9 / (n_inv as f64 * k as f64));
    }
}
