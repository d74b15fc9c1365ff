"""Rank candidate rows with a registered CTR model: its probability orders each user's candidates and the
top k are kept, with the retrieval rank and score beside the model's, and the versions that made them."""

from __future__ import annotations


def top_k(scored, user_col: str, k: int):
    """The k best rows per user by `probability` (ties: the better retrieval rank first), ranked 1..k."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    by_user = Window.partitionBy(user_col).orderBy(F.desc("probability"), F.asc("retrieval_rank"))
    return scored.withColumn("rank", F.row_number().over(by_user)).where(F.col("rank") <= k)


def rank(spark, mv, rows, user_col: str, item_col: str, k: int, index_version_col: str = "index_version"):
    """(user, item, rank, probability, retrieval_rank, retrieval_score, index_version, model, model_version)
    of the top k per user of `rows` (feature rows of candidates) scored by the model version `mv`."""
    from pyspark.sql import functions as F

    from pipelines.registry.scoring import score

    ranked = top_k(score(spark, mv, rows), user_col, k)
    return ranked.select(
        user_col,
        item_col,
        "rank",
        "probability",
        "retrieval_rank",
        "retrieval_score",
        index_version_col,
        F.lit(mv.name).alias("model"),
        F.lit(mv.version).alias("model_version"),
    )
