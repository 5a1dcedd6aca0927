package io.hotline.demo

import android.content.Context
import android.graphics.Color
import android.text.InputType
import android.view.Gravity
import android.view.View
import android.view.ViewGroup.LayoutParams.MATCH_PARENT
import android.view.ViewGroup.LayoutParams.WRAP_CONTENT
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.TextView

/**
 * Small builders for the framework views the screens are made of. Built in
 * code rather than XML layouts so the screens need no generated R class.
 */
internal fun Context.dp(value: Int): Int = (value * resources.displayMetrics.density).toInt()

internal fun Context.column(padding: Int = 16): LinearLayout = LinearLayout(this).apply {
    orientation = LinearLayout.VERTICAL
    setPadding(dp(padding), dp(padding), dp(padding), dp(padding))
}

internal fun Context.row(): LinearLayout = LinearLayout(this).apply {
    orientation = LinearLayout.HORIZONTAL
    gravity = Gravity.CENTER
}

internal fun Context.label(text: String = "", size: Float = 16f): TextView = TextView(this).apply {
    this.text = text
    textSize = size
}

internal fun Context.field(hint: String, password: Boolean = false): EditText = EditText(this).apply {
    this.hint = hint
    isSingleLine = true
    inputType = if (password) InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_PASSWORD
    else InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_NO_SUGGESTIONS
}

internal fun Context.button(text: String, onClick: () -> Unit): Button = Button(this).apply {
    this.text = text
    setOnClickListener { onClick() }
}

internal fun LinearLayout.add(view: View, weight: Float = 0f): LinearLayout {
    val vertical = orientation == LinearLayout.VERTICAL
    val params = if (weight > 0f) {
        if (vertical) LinearLayout.LayoutParams(MATCH_PARENT, 0, weight) else LinearLayout.LayoutParams(0, WRAP_CONTENT, weight)
    } else {
        LinearLayout.LayoutParams(if (vertical) MATCH_PARENT else WRAP_CONTENT, WRAP_CONTENT)
    }
    addView(view, params)
    return this
}

internal var View.shown: Boolean
    get() = visibility == View.VISIBLE
    set(value) { visibility = if (value) View.VISIBLE else View.GONE }

internal const val ERROR_COLOR = Color.RED
