0.1.0‡
LlavaForConditionalGenerationllava-hf-currentR
config.json@13fdb2c94c8ecd5535dec34f787e030bc6272c949068890c455141f7ac86a148àY
model.safetensors@5d4b3cdb1e91583e0e4b311fef3132e035dc70ddf75dcebe2ef93f56b34f4c9b¿Ÿ"!¸©Ò“Mb`?((:d
eah_original_rows.safetensors@276e29ec56ffdb1485d31bf5b5a5c8188966dd069cfc36425a51f1738cbf46c2®5:Y
model.safetensors@e0b7a48d3e5cef00284764495f828601af96b14eb5a9ddf9bb25c4ebcd83c7a8¿Ÿ