"""Tools beside the pipeline: the sources downloader (``fetch``), the local language models'
downloader and server (``llm_models``), the ONNX embedder for benchmarks (``onnx_embeddings``) and
the long-running server's malloc tuning (``allocator``).

The pipeline (documents → index → answers) never imports them; the command line and benchmarks do.
"""
