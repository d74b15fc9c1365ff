"""Deep CTR models in PyTorch: the model zoo, the Parquet -> tensor data path, distributed training
(Horovod on Spark, horovodrun, TorchDistributor), batch scoring through Spark and embedding export."""
