//! Models the frontend has never seen, generated at random (MLPs, CNNs, token-wise
//! sequence models, LSTM and GRU classifiers) and checked against tract.

use crate::common::seeded;
use crate::networks::{
    attention_network, conv_network, embedding_network, mask_network, network, recurrent_network,
    sequence_network,
};
use crate::support::{check_against_tract, check_ids_against_tract};
use proptest::prelude::*;

proptest! {
    #![proptest_config(seeded(24))]

    #[test]
    fn unseen_models_match_tract(
        seed in any::<u64>(),
        layers in 1usize..=3,
        widths in proptest::collection::vec(1i64..=40, 4),
        image: bool,
        softmax: bool,
    ) {
        let (model, dims) = network(seed, layers, &widths, image, softmax);
        check_against_tract(&format!("mlp{seed}"), &model, &dims, seed)?;
    }
}

proptest! {
    #![proptest_config(seeded(16))]

    #[test]
    fn unseen_conv_models_match_tract(seed in any::<u64>(), choices in proptest::array::uniform8(0usize..60)) {
        let (model, dims) = conv_network(seed, choices);
        check_against_tract(&format!("cnn{seed}"), &model, &dims, seed)?;
    }
}

proptest! {
    #![proptest_config(seeded(16))]

    #[test]
    fn unseen_sequence_models_match_tract(seed in any::<u64>(), choices in proptest::array::uniform4(0usize..60)) {
        let (model, dims) = sequence_network(seed, choices);
        check_against_tract(&format!("seq{seed}"), &model, &dims, seed)?;
    }

    #[test]
    fn unseen_attention_blocks_match_tract(seed in any::<u64>(), choices in proptest::array::uniform6(0usize..60)) {
        let (model, dims) = attention_network(seed, choices);
        check_against_tract(&format!("attention{seed}"), &model, &dims, seed)?;
    }

    #[test]
    fn unseen_token_embeddings_match_tract(seed in any::<u64>(), choices in proptest::array::uniform4(0usize..60)) {
        let (model, dims, vocabulary) = embedding_network(seed, choices);
        check_ids_against_tract(&format!("embedding{seed}"), &model, &dims, seed, vocabulary)?;
    }

    #[test]
    fn unseen_mask_logic_matches_tract(seed in any::<u64>(), choices in proptest::array::uniform4(0usize..60)) {
        let (model, dims) = mask_network(seed, choices);
        check_against_tract(&format!("mask{seed}"), &model, &dims, seed)?;
    }

    #[test]
    fn unseen_recurrent_models_match_tract(seed in any::<u64>(), choices in proptest::array::uniform6(0usize..60)) {
        let (model, dims) = recurrent_network(seed, choices);
        check_against_tract(&format!("rnn{seed}"), &model, &dims, seed)?;
    }
}
