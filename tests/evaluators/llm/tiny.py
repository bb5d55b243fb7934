"""Tiny random decoder models of several architectures (no download) for the fast tests."""
from __future__ import annotations

import torch

VOCAB = 96


def tiny_models() -> dict[str, torch.nn.Module]:
    """GPT-2 (Conv1D), OPT, Llama, Qwen2 (q/k/v biases), Phi (parallel attention and MLP, dense/fc1/fc2,
    partial rotary) and Gemma (GeGLU, scaled embeddings) with random weights, float32, eval mode."""
    from transformers import (
        GemmaConfig,
        GemmaForCausalLM,
        GPT2Config,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
        OPTConfig,
        OPTForCausalLM,
        PhiConfig,
        PhiForCausalLM,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    torch.manual_seed(0)
    models = {
        "gpt2": GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=VOCAB, n_positions=64,
                                           bos_token_id=0, eos_token_id=0)),
        "opt": OPTForCausalLM(OPTConfig(num_hidden_layers=2, hidden_size=32, ffn_dim=64, num_attention_heads=2,
                                        vocab_size=VOCAB, max_position_embeddings=64, word_embed_proj_dim=32,
                                        bos_token_id=0, eos_token_id=0, pad_token_id=1)),
        "llama": LlamaForCausalLM(LlamaConfig(num_hidden_layers=2, hidden_size=32, intermediate_size=64,
                                              num_attention_heads=4, num_key_value_heads=2, vocab_size=VOCAB,
                                              bos_token_id=0, eos_token_id=0, pad_token_id=1)),
        "qwen2": Qwen2ForCausalLM(Qwen2Config(num_hidden_layers=2, hidden_size=32, intermediate_size=64,
                                              num_attention_heads=4, num_key_value_heads=2, vocab_size=VOCAB,
                                              max_position_embeddings=64, bos_token_id=0, eos_token_id=0,
                                              pad_token_id=1)),
        "phi": PhiForCausalLM(PhiConfig(num_hidden_layers=2, hidden_size=32, intermediate_size=64,
                                        num_attention_heads=4, vocab_size=VOCAB, max_position_embeddings=64,
                                        partial_rotary_factor=0.5, bos_token_id=0, eos_token_id=0, pad_token_id=1)),
        "gemma": GemmaForCausalLM(GemmaConfig(num_hidden_layers=2, hidden_size=32, intermediate_size=64,
                                              num_attention_heads=4, num_key_value_heads=1, head_dim=8,
                                              vocab_size=VOCAB, max_position_embeddings=64, bos_token_id=0,
                                              eos_token_id=0, pad_token_id=1)),
    }
    for model in models.values():
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
    return models


def tiny_windows(count: int = 3, length: int = 16) -> torch.Tensor:
    """Random token windows for the tiny models."""
    return torch.randint(2, VOCAB, (count, length), generator=torch.Generator().manual_seed(1))


def tiny_model_folder(path) -> str:
    """Save the tiny Llama with a character-level tokenizer (ids below VOCAB) as a local model folder."""
    import string

    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = string.printable[: VOCAB - 1]
    vocab = {"<unk>": 0, **{c: i + 1 for i, c in enumerate(chars)}}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>").save_pretrained(path)
    tiny_models()["llama"].save_pretrained(path)
    return str(path)
