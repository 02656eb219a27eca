"""The parts of the GPU suite (`python -m benchmarks.gpu_suite`), each run in a process of its own."""
