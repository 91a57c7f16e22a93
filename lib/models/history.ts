/** What a training run records per epoch, as Keras's History does (written to the model folder's history.json). */

export interface EpochRecord {
  epoch: number;
  loss: number;
  precision: number;
  recall: number;
  val_loss: number;
  val_precision: number;
  val_recall: number;
  lr: number;
  seconds: number;
}

export interface TrainingHistory {
  epochs: EpochRecord[];
  /** 1-based epoch whose weights were best (0 when no epoch completed). */
  bestEpoch: number;
  /** Its val_loss (Infinity when no epoch completed; written as null in history.json). */
  bestValLoss: number;
  stoppedEarly: boolean;
  interrupted: boolean;
}
