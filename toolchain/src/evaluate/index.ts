export {
  type ClassAccuracy,
  type EvaluateOptions,
  type EvaluatedModel,
  type Evaluation,
  evaluateModel,
  evaluateSession,
} from './evaluate-model.ts';
