"""The coursework's two models in Keras 3, layer for layer as the template (and as lib/models/coursework.ts):
the poster CNN (functional API, 3,464,601 parameters) and the overview BiLSTM (sequential, 4,303,129 parameters
with a 10,000-word vocabulary). Layer names are the workbook's, so that weights can be copied by name."""
import keras
from keras import layers


def build_cnn(image_size=64, genres=25):
    """Conv0 (stride 2) .. Conv6 in three pooled blocks, each ending in dropout 0.2, FC1 and FC2 with dropout 0.5,
    Dense(genres, sigmoid) "Output"."""
    def conv(i, filters, strides=1):
        return layers.Conv2D(filters, 3, strides=strides, padding="same", activation="relu", name=f"Conv{i}")

    inputs = keras.Input((image_size, image_size, 3), name="Input")
    x = conv(0, 16, 2)(inputs)
    x = layers.Dropout(0.2)(x)
    x = conv(1, 32)(x)
    x = conv(2, 32)(x)
    x = layers.Dropout(0.2)(x)
    x = layers.MaxPooling2D(2)(x)
    x = conv(3, 64)(x)
    x = conv(4, 64)(x)
    x = layers.Dropout(0.2)(x)
    x = layers.MaxPooling2D(2)(x)
    x = conv(5, 128)(x)
    x = conv(6, 128)(x)
    x = layers.Dropout(0.2)(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(1024, activation="relu", name="FC1")(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Dense(1024, activation="relu", name="FC2")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(genres, activation="sigmoid", name="Output")(x)
    return keras.Model(inputs, outputs, name="poster_cnn")


def build_lstm(vocabulary_size=10000, genres=25):
    """Embedding(256, mask_zero) -> Bidirectional(LSTM 256, dropout 0.5, recurrent_dropout 0.2, return_sequences)
    -> Bidirectional(LSTM 128, dropout 0.5, recurrent_dropout 0.2) -> Dense(128, relu) -> Dropout(0.8) ->
    Dense(genres, sigmoid). Batches are padded with 0 to their longest overview; the mask skips the padding."""
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            layers.Embedding(vocabulary_size, 256, mask_zero=True, name="embedding"),
            layers.Bidirectional(layers.LSTM(256, dropout=0.5, recurrent_dropout=0.2, return_sequences=True), name="bidirectional"),
            layers.Bidirectional(layers.LSTM(128, dropout=0.5, recurrent_dropout=0.2), name="bidirectional_1"),
            layers.Dense(128, activation="relu", name="dense"),
            layers.Dropout(0.8, name="dropout"),
            layers.Dense(genres, activation="sigmoid", name="dense_1"),
        ],
        name="overview_lstm",
    )
