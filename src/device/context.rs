//! The lock around a GL device's context.
//!
//! wgpu's GL backend makes its one context current for every call and waits at most a
//! few seconds for it, then panics ("Could not lock adapter context"). On llvmpipe a
//! submit runs its whole command buffer inside `queue.submit`, holding the context for
//! as long as the work takes, so any other thread's call (a buffer, a pipeline, a map)
//! during a long submit would panic. Every call a [`super::Gpu`] makes into a GL device
//! therefore runs under this lock first, which waits without a time limit. It is
//! reentrant, so that a method holding it may call another that takes it too.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::{self, ThreadId};

/// A reentrant lock without a timeout.
#[derive(Default)]
pub(crate) struct ContextLock {
    /// The thread holding the lock and how many times it took it.
    owner: Mutex<(Option<ThreadId>, usize)>,
    released: Condvar,
}

/// Holds a [`ContextLock`] until dropped.
pub(crate) struct ContextGuard<'a>(&'a ContextLock);

fn held<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ContextLock {
    /// Takes the lock, waiting for as long as another thread holds it.
    pub(crate) fn lock(&self) -> ContextGuard<'_> {
        let me = thread::current().id();
        let mut state = held(&self.owner);
        loop {
            match state.0 {
                None => {
                    *state = (Some(me), 1);
                    break;
                }
                Some(t) if t == me => {
                    state.1 += 1;
                    break;
                }
                Some(_) => {
                    state = self.released.wait(state).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
        ContextGuard(self)
    }
}

impl Drop for ContextGuard<'_> {
    fn drop(&mut self) {
        let mut state = held(&self.0.owner);
        state.1 -= 1;
        if state.1 == 0 {
            state.0 = None;
            self.0.released.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_lock_is_reentrant_and_exclusive() {
        let lock = Arc::new(ContextLock::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (lock, inside) = (lock.clone(), inside.clone());
                thread::spawn(move || {
                    for _ in 0..200 {
                        let _outer = lock.lock();
                        let _inner = lock.lock();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
