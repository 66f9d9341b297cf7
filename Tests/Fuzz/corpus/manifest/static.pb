0.1.0¹
llavallava-hfR
config.json@a0b89f6ddea86e4e62f39444f2ab7138607c5d871405a8da9fb71c3ab466fb9fÕh
 model-00001-of-00002.safetensors@a461c38780c4ab1be1426f4e742baa2515f5e94eef66947a0ddceb303e7af7bf°Éh
 model-00002-of-00002.safetensors@e9f097f116ebfd79d0027ede245b995d0e8b030748964b4ecd8432f8686ecb02ÀÅ"!ü©ñÒMb`?(:Y
model.safetensors@3446a19e57f0b2f529ea404497864505ffb1cd033101238bc202f30e650c9474èŽ