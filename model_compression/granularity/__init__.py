"""The sparsity-granularity study (Mao et al. 2017): quality and storage per granularity and sparsity."""
